"""End to end with a real action, a real peer and a real worker.

A responder previews `redis.delete_keys` through the API, a commander confirms with the token,
a Celery worker (PostgreSQL, Redis broker) runs it, and the keys are gone — exactly the matching
ones — with every step on the incident timeline.
"""

from __future__ import annotations

import pytest

from catalog.models import Target
from catalog.target_configs import validate_target_config
from diagnostics.models import ActionRequest
from incidents.models import EventKind, TimelineEvent
from incidents.services import incident_declare
from tests.diagnostics.peers.redis_scratch import flushed_probe_db, probe_db_url
from tests.factories import ServiceFactory
from tests.workers import celery_worker

from .conftest import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def test_preview_confirm_and_run_on_a_worker(monkeypatch, settings, api_as, responder, commander):
    # The worker reads the target's secret from its environment, like production.
    monkeypatch.setenv("E2E_CACHE_URL", probe_db_url())
    service = ServiceFactory(slug="checkout", name="Checkout")
    cache = Target.objects.create(
        service=service,
        name="cache",
        kind="redis",
        config=validate_target_config("redis", {"url_env": "E2E_CACHE_URL"}),
    )
    incident = incident_declare(
        title="Checkout slow", severity="P2", by=commander, services=[service]
    )
    with flushed_probe_db() as client:
        client.mset({f"stale:{n}": "x" for n in range(300)} | {f"keep:{n}": "y" for n in range(50)})
        previewed = api_as(responder).post(
            "/api/v1/actions/preview/",
            {
                "incident": incident.pk,
                "action": "redis.delete_keys",
                "target": cache.pk,
                "params": {"pattern": "stale:*"},
            },
            format="json",
        )
        assert previewed.status_code == 201, previewed.json()
        body = previewed.json()
        assert body["preview"]["details"]["count"] == 300
        assert client.dbsize() == 350  # previewing deleted nothing

        with celery_worker("actions", env={"E2E_CACHE_URL": probe_db_url()}) as worker:
            settings.CELERY_TASK_DEFAULT_QUEUE = worker.queue  # where this process sends it
            confirmed = api_as(commander).post(
                f"/api/v1/actions/{body['id']}/execute/",
                {"preview_token": body["preview_token"], "reason": "stale sessions"},
                format="json",
            )
            assert confirmed.status_code == 200, confirmed.json()
            assert wait_for(
                lambda: ActionRequest.objects.get(pk=body["id"]).state in ("done", "failed"),
                timeout=60,
            )

        request = ActionRequest.objects.get(pk=body["id"])
        assert request.state == "done", request.error
        assert client.dbsize() == 50
        assert not client.keys("stale:*")
    phases = [
        event.data["phase"]
        for event in TimelineEvent.objects.filter(
            incident=incident, kind=EventKind.REMEDIATION
        ).order_by("seq")
    ]
    assert phases == ["previewed", "requested", "started", "done"]
