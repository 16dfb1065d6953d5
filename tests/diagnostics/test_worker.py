"""End to end on the real stack: a declared incident's runbook runs on a thread-pool worker.

PostgreSQL, Redis as the broker and a real Celery worker process (like the Procfile `probes`
line). The set's probes run side by side; one target accepts TCP and never answers, and its
probe is cut at its timeout while the others finish. No wall-clock assertions: the parallelism
is measured in bench/probe_fanout.py.
"""

from __future__ import annotations

import pytest

from catalog.models import Target
from diagnostics.models import Diagnosis, Runbook, RunbookStep
from incidents.models import EventKind, TimelineEvent
from incidents.services import incident_declare
from tests.factories import ServiceFactory
from tests.workers import celery_worker

from .conftest import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def test_runbook_runs_on_a_real_worker_and_fills_the_timeline(
    settings,
    commander,
    healthy_url,
    silent_port,
):
    service = ServiceFactory(slug="checkout", name="Checkout")
    for name in ("api", "web"):
        Target.objects.create(service=service, name=name, kind="http", config={"url": healthy_url})
    Target.objects.create(
        service=service,
        name="zz-hung",
        kind="http",
        config={"url": f"http://127.0.0.1:{silent_port}/health"},
    )
    runbook = Runbook.objects.create(name="Health", slug="health-e2e", symptom="other")
    RunbookStep.objects.create(
        runbook=runbook, position=0, probe="http.health", params={"timeout_s": 1}
    )

    with celery_worker("probes", pool="threads", concurrency=4) as worker:
        settings.DIAGNOSTICS_QUEUE = worker.queue  # where this process sends the runs
        incident = incident_declare(
            title="Checkout returning 503",
            severity="P1",
            by=commander,
            services=[service],
            symptom="other",
        )
        assert wait_for(
            lambda: Diagnosis.objects.filter(incident=incident, finished_at__isnull=False).exists(),
            timeout=60,
        ), "the worker did not finish the set"

    diagnosis = Diagnosis.objects.get(incident=incident)
    statuses = {run.target_label: (run.status, run.error) for run in diagnosis.runs.all()}
    assert statuses["Checkout / api"][0] == "ok"
    assert statuses["Checkout / web"][0] == "ok"
    assert statuses["Checkout / zz-hung"][0] == "error"
    assert "timed out after 1s" in statuses["Checkout / zz-hung"][1]
    assert diagnosis.summary == "3 probes: 1 error, 2 ok"

    events = TimelineEvent.objects.filter(incident=incident, kind=EventKind.PROBE_RESULT)
    phases = [event.data["phase"] for event in events.order_by("seq")]
    assert phases == ["started", "result", "result", "result", "summary"]
    seqs = list(TimelineEvent.objects.filter(incident=incident).values_list("seq", flat=True))
    assert sorted(seqs) == list(range(1, len(seqs) + 1))  # contiguous, whatever the threads did
