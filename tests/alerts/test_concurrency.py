"""Concurrent posts on PostgreSQL: the partial unique constraint and the routing lock hold."""

import json

import pytest
from django.test import Client

from alerts.ingest import delivery_record
from alerts.models import Alert, AlertGroup
from alerts.services import pending_process
from incidents.models import Incident
from tests.incidents.support import pool_room_for, run_together

from .payloads import am_alert, am_payload, pd_event

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 10


def _post(path, body, token=None):
    extra = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return Client().post(path, json.dumps(body), content_type="application/json", **extra)


def test_ten_threads_posting_the_same_new_fingerprint_make_one_group_and_one_incident(
    make_integration, checkout
):
    am = make_integration()
    # Same fingerprint, ten different firings (startsAt differs): ten real events, one key.
    alert = am_alert()
    bodies = [am_payload({**alert, "startsAt": f"2026-11-29T00:00:{i:02d}Z"}) for i in range(10)]
    with pool_room_for(THREADS):
        replies = run_together(
            THREADS, lambda i: _post("/api/integrations/alertmanager/", bodies[i], am.raw_token)
        )
    assert [r.status_code for r in replies] == [202] * THREADS
    assert AlertGroup.objects.count() == 1
    assert AlertGroup.objects.get().alert_count == THREADS
    assert Alert.objects.count() == THREADS
    assert Incident.objects.count() == 1


def test_ten_threads_triggering_one_pagerduty_key_make_one_group(make_integration, checkout):
    pd = make_integration("pagerduty", default_service=checkout)
    with pool_room_for(THREADS):
        replies = run_together(
            THREADS,
            lambda i: _post("/v2/enqueue", pd_event(pd.raw_token, dedup_key="k", summary=f"#{i}")),
        )
    assert {r.json()["dedup_key"] for r in replies} == {"k"}
    assert AlertGroup.objects.get().alert_count == THREADS
    assert Incident.objects.count() == 1


def test_concurrent_new_fingerprints_for_one_service_open_one_incident(make_integration, checkout):
    am = make_integration()
    bodies = [am_payload(am_alert(f"Alert{i}", pod=f"pod-{i}")) for i in range(THREADS)]
    with pool_room_for(THREADS):
        run_together(
            THREADS, lambda i: _post("/api/integrations/alertmanager/", bodies[i], am.raw_token)
        )
    assert AlertGroup.objects.count() == THREADS
    assert Incident.objects.count() == 1
    assert Incident.objects.get().alert_groups.count() == THREADS


def test_concurrent_drains_process_every_delivery_exactly_once(
    settings, make_integration, checkout
):
    settings.ALERTS_PROCESS_INLINE = False
    am = make_integration()
    for batch in range(20):
        alerts = [am_alert(f"A{batch}-{i}", severity="info") for i in range(10)]
        # Post without processing: the nudge thread would send to the broker, so drain here.
        _post_raw(am, am_payload(*alerts))
    with pool_room_for(4):
        counts = run_together(4, lambda i: pending_process())
    assert sum(counts) == 20
    assert Alert.objects.count() == 200 and AlertGroup.objects.count() == 200


def _post_raw(integration, body):
    """Store a delivery the way the endpoint does, without waking any worker."""
    delivery_record(integration=integration, payload=body)
