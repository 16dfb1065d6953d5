"""Probe sets: planning, running, storing, the timeline events, idempotency and the sweeper."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from diagnostics import services
from diagnostics.models import Diagnosis, ProbeRun, Runbook, RunbookStep, RunState
from incidents.models import EventKind, OutboxEvent, TimelineEvent
from incidents.services import incident_declare

from .conftest import check, result, unreachable

pytestmark = pytest.mark.django_db


@pytest.fixture
def runbook(db):
    runbook = Runbook.objects.create(name="Scripted", slug="scripted", symptom="other")
    RunbookStep.objects.create(
        runbook=runbook, position=0, title="First look", probe="test.scripted"
    )
    RunbookStep.objects.create(
        runbook=runbook, position=1, title="Second look", probe="test.scripted", params={"limit": 2}
    )
    return runbook


def declare(commander, services_, symptom="other", severity="P2"):
    return incident_declare(
        title="Checkout failing",
        severity=severity,
        by=commander,
        services=services_,
        symptom=symptom,
    )


def probe_events(incident):
    return list(
        TimelineEvent.objects.filter(incident=incident, kind=EventKind.PROBE_RESULT).order_by("seq")
    )


def test_declaring_with_a_symptom_runs_its_runbook_and_fills_the_timeline_in_order(
    run_inline, runbook, checkout, commander, scripted_probes, django_capture_on_commit_callbacks
):
    scripted_probes["web"] = result("critical", "2 of 3 pods crash-looping")
    scripted_probes["api"] = result("warning", "restarts climbing")
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(commander, [checkout])

    diagnosis = Diagnosis.objects.get(incident=incident)
    assert diagnosis.runbook == runbook
    assert diagnosis.trigger == "incident declared with symptom “Other”"
    runs = list(diagnosis.runs.order_by("position"))
    # Steps in order, each on every http target of the service (api before web: by name).
    assert [(r.step_title, r.target_label) for r in runs] == [
        ("First look", "Checkout / api"),
        ("First look", "Checkout / web"),
        ("Second look", "Checkout / api"),
        ("Second look", "Checkout / web"),
    ]
    assert runs[2].params == {"limit": 2} and runs[0].params == {"limit": 5}
    assert all(r.state == RunState.DONE for r in runs)
    assert diagnosis.remaining == 0 and diagnosis.finished_at is not None
    assert diagnosis.status == "critical"
    assert diagnosis.summary == "4 probes: 2 critical, 2 warning"

    events = probe_events(incident)
    # The critical runs on a public service end with a proposed (unpublished) status.
    assert [e.data["phase"] for e in events] == ["started"] + ["result"] * 4 + [
        "summary",
        "status_proposed",
    ]
    assert [e.data["run_id"] for e in events[1:5]] == [r.pk for r in runs]
    seqs = [e.seq for e in events]
    assert seqs == sorted(seqs)
    summary = events[-2]
    # Worst first, then in run order.
    assert [(r["status"], r["target"]) for r in summary.data["runs"]] == [
        ("critical", "Checkout / web"),
        ("critical", "Checkout / web"),
        ("warning", "Checkout / api"),
        ("warning", "Checkout / api"),
    ]
    assert summary.data["counts"] == {"ok": 0, "warning": 2, "error": 0, "critical": 2}
    assert events[1].body == "WARNING First look on Checkout / api: restarts climbing"
    assert all(e.visibility == "internal" for e in events)


def test_a_symptom_without_a_runbook_starts_nothing(
    run_inline, checkout, commander, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(commander, [checkout], symptom="backup_verification")
    assert not Diagnosis.objects.filter(incident=incident).exists()


def test_a_runbook_with_nothing_to_probe_says_so_and_finishes(
    run_inline, committed, runbook, commander
):
    incident = declare(commander, [])
    diagnosis = committed(
        services.runbook_start, runbook=runbook, incident=incident, trigger="test"
    )
    diagnosis.refresh_from_db()
    assert diagnosis.total == 0 and diagnosis.finished_at is not None
    assert diagnosis.summary == "nothing to probe"
    assert [e.data["phase"] for e in probe_events(incident)] == ["started", "summary"]
    assert "nothing to probe" in probe_events(incident)[0].body


def test_unreachable_target_is_an_error_result_with_secrets_redacted(
    run_inline, committed, checkout, commander, scripted_probes
):
    scripted_probes["web"] = unreachable(
        "could not connect to postgres://app:hunter2@db.internal:5432/app: connection refused"
    )
    incident = declare(commander, [checkout])
    web = checkout.targets.get(name="web")
    diagnosis = committed(
        services.probe_start,
        probe="test.scripted",
        target=web,
        params={},
        by=commander,
        incident=incident,
    )
    run = diagnosis.runs.get()
    assert run.status == "error"
    assert "hunter2" not in run.error and "hunter2" not in run.summary
    assert run.error == (
        "could not connect to postgres://app:***@db.internal:5432/app: connection refused"
    )
    assert run.summary.startswith("error: could not connect")
    assert "hunter2" not in str(run.result)
    assert "hunter2" not in "".join(e.body + str(e.data) for e in probe_events(incident))


def test_a_duplicate_task_or_late_finish_never_stores_or_announces_twice(
    checkout, commander, scripted_probes
):
    incident = declare(commander, [checkout])
    web = checkout.targets.get(name="web")
    diagnosis = services.probe_start(
        probe="test.scripted", target=web, params={}, by=commander, incident=incident
    )
    run = diagnosis.runs.get()
    assert run.state == RunState.QUEUED  # not inline: waits for a worker
    assert services.run_execute(run.pk).status == "ok"
    assert services.run_execute(run.pk) is None  # redelivered task: already done
    late = services.run_finish(run, services.runner.error_outcome("late duplicate"))
    assert late is None
    run.refresh_from_db()
    assert run.status == "ok" and run.attempts == 1
    assert [e.data["phase"] for e in probe_events(incident)] == ["started", "result", "summary"]


def test_bad_params_are_refused_before_anything_is_stored(checkout, commander):
    web = checkout.targets.get(name="web")
    with pytest.raises(services.DiagnosticsError) as caught:
        services.probe_start(probe="test.scripted", target=web, params={"limit": 99}, by=commander)
    assert caught.value.code == "invalid_params"
    assert "limit" in caught.value.errors["test.scripted"]
    with pytest.raises(services.DiagnosticsError) as caught:
        services.probe_start(
            probe="test.scripted", target=web, params={"timeout_s": 0}, by=commander
        )
    assert "timeout_s" in caught.value.errors["test.scripted"]
    assert not Diagnosis.objects.exists() and not ProbeRun.objects.exists()


def test_a_probe_for_another_kind_of_target_is_refused(checkout, commander):
    from catalog.models import Target

    cache = Target.objects.create(
        service=checkout, name="cache", kind="redis", config={"url_env": "CACHE_URL"}
    )
    with pytest.raises(services.DiagnosticsError) as caught:
        services.probe_start(probe="test.scripted", target=cache, params={}, by=commander)
    assert caught.value.code == "wrong_target_kind"


def test_each_result_is_compared_with_the_last_ok_run_of_that_probe_on_that_target(
    run_inline, committed, checkout, commander, scripted_probes
):
    web = checkout.targets.get(name="web")
    scripted_probes["web"] = result(
        "ok", "1 pod", rows=[("web-1", "Running")], checks=[check("restarts", 0, "ok")]
    )
    first = committed(
        services.probe_start, probe="test.scripted", target=web, params={}, by=commander
    )
    scripted_probes["web"] = result(
        "warning",
        "2 pods",
        rows=[("web-1", "Running"), ("web-2", "CrashLoopBackOff")],
        checks=[check("restarts", 7, "warning")],
    )
    second = committed(
        services.probe_start, probe="test.scripted", target=web, params={}, by=commander
    )
    first_run, second_run = first.runs.get(), second.runs.get()
    assert first_run.baseline is None and first_run.changes == {}
    assert second_run.baseline == first_run
    assert second_run.changes["new_findings"] == [
        {
            "table": "pods",
            "title": "Pods",
            "columns": ["pod", "state"],
            "rows": [["web-2", "CrashLoopBackOff"]],
            "count": 1,
        }
    ]
    [moved] = second_run.changes["worse_checks"]
    assert (moved["name"], moved["before"], moved["now"]) == ("restarts", 0, 7)
    assert (moved["status_before"], moved["status_now"]) == ("ok", "warning")

    # A later run is compared with the last OK run, not with the warning one.
    scripted_probes["web"] = result("warning", "3 pods", rows=[("web-3", "Pending")])
    third = committed(
        services.probe_start, probe="test.scripted", target=web, params={}, by=commander
    )
    assert third.runs.get().baseline == first_run


def test_rerun_repeats_probe_target_params_and_timeout(
    run_inline, committed, checkout, commander, responder
):
    web = checkout.targets.get(name="web")
    incident = declare(commander, [checkout])
    original = committed(
        services.probe_start,
        probe="test.scripted",
        target=web,
        params={"limit": 3, "timeout_s": 2},
        by=commander,
        incident=incident,
    ).runs.get()
    again = committed(services.run_again, run=original, by=responder).runs.get()
    assert (again.probe, again.target, again.params, again.timeout_s) == (
        "test.scripted",
        web,
        {"limit": 3},
        2.0,
    )
    assert again.diagnosis.incident == incident
    assert again.diagnosis.trigger == f"re-run of probe run {original.pk} by {responder.username}"


class TestSweeper:
    def start(self, checkout, commander):
        web = checkout.targets.get(name="web")
        return services.probe_start(probe="test.scripted", target=web, params={}, by=commander)

    def test_resends_runs_a_lost_message_left_queued(self, settings, checkout, commander):
        diagnosis = self.start(checkout, commander)
        ProbeRun.objects.update(queued_at=timezone.now() - timedelta(seconds=60))
        settings.DIAGNOSTICS_RUN_INLINE = True  # "the worker" takes what the sweeper re-sends
        assert services.sweep() == {"resent": 1, "abandoned": 0}
        assert diagnosis.runs.get().status == "ok"

    def test_closes_runs_no_worker_picked_up_with_an_honest_error(
        self, settings, checkout, commander
    ):
        diagnosis = self.start(checkout, commander)
        ProbeRun.objects.update(queued_at=timezone.now() - timedelta(hours=1))
        assert services.sweep() == {"resent": 0, "abandoned": 1}
        run = diagnosis.runs.get()
        assert run.status == "error"
        assert (
            run.error == f"no worker picked it up within {settings.DIAGNOSTICS_PICKUP_DEADLINE_S}s"
        )
        diagnosis.refresh_from_db()
        assert diagnosis.finished_at is not None and diagnosis.status == "error"

    def test_reclaims_a_run_whose_worker_died_and_gives_up_after_the_attempt_cap(
        self, settings, checkout, commander
    ):
        diagnosis = self.start(checkout, commander)
        run = diagnosis.runs.get()
        long_ago = timezone.now() - timedelta(seconds=settings.DIAGNOSTICS_STALE_RUNNING_S + 5)
        # Running, claimed once, and silent since: its worker died mid-probe.
        ProbeRun.objects.filter(pk=run.pk).update(
            state=RunState.RUNNING, started_at=long_ago, attempts=1
        )
        assert services.run_claim(run.pk) is not None  # stale: claimable again
        ProbeRun.objects.filter(pk=run.pk).update(
            state=RunState.RUNNING, started_at=long_ago, attempts=settings.DIAGNOSTICS_MAX_ATTEMPTS
        )
        assert services.run_claim(run.pk) is None
        run.refresh_from_db()
        assert run.state == RunState.DONE and run.status == "error"
        assert run.error == (
            f"gave up after {settings.DIAGNOSTICS_MAX_ATTEMPTS} attempts "
            "(the worker was lost each time)"
        )

    def test_a_running_probe_is_not_stolen_while_it_may_still_finish(self, checkout, commander):
        diagnosis = self.start(checkout, commander)
        run = diagnosis.runs.get()
        assert services.run_claim(run.pk) is not None
        assert services.run_claim(run.pk) is None


def test_nothing_is_sent_to_the_workers_when_the_transaction_rolls_back(
    checkout, commander, django_capture_on_commit_callbacks
):
    from django.db import transaction

    web = checkout.targets.get(name="web")
    with django_capture_on_commit_callbacks() as callbacks:
        try:
            with transaction.atomic():
                services.probe_start(probe="test.scripted", target=web, params={}, by=commander)
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
    assert callbacks == []
    assert not ProbeRun.objects.exists()
    assert not OutboxEvent.objects.filter(topic__startswith="diagnos").exists()


def test_metrics_show_open_runs_and_recent_results(client, checkout, commander):
    web = checkout.targets.get(name="web")
    services.probe_start(probe="test.scripted", target=web, params={}, by=commander)
    done = services.probe_start(probe="test.scripted", target=web, params={}, by=commander)
    services.run_execute(done.runs.get().pk)
    text = client.get("/metrics").content.decode()
    assert 'opsportal_probe_runs_open{state="queued"} 1.0' in text
    assert 'opsportal_probe_runs_open{state="running"} 0.0' in text
    assert 'opsportal_probe_runs_finished_last_hour{probe="test.scripted",status="ok"} 1.0' in text
    assert "opsportal_probe_oldest_queued_seconds " in text


def test_nothing_starts_on_a_closed_incident(checkout, commander, runbook):
    from incidents.services import incident_transition

    incident = declare(commander, [checkout])
    incident_transition(incident=incident, to="resolved", by=commander)
    incident = incident_transition(incident=incident, to="closed", by=commander)
    with pytest.raises(services.DiagnosticsError) as caught:
        services.runbook_start(runbook=runbook, incident=incident, trigger="test")
    assert caught.value.code == "incident_closed"
    assert not Diagnosis.objects.filter(incident=incident).exists()
