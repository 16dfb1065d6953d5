"""Every write of diagnostics: planning and starting probe sets, running and finishing probes.

Flow: `diagnosis_start` plans the probe runs (runbook steps times the affected services' targets),
stores them as `queued` and, on commit, sends one Celery task per run to the probes queue (a
Celery group: they run in parallel on as many worker threads as there are). Each task calls
`run_execute`: it claims its run (a redelivered or duplicate task finds it claimed or done and
drops itself), runs the probe under a hard timeout (runner.py), and `run_finish` stores the
result, compares it with the baseline, appends a `probe_result` event to the incident timeline
and decrements the set's `remaining`; the run that takes it to zero writes the set's summary.

Nothing is lost to a broker outage or a dead worker: `sweep` (beat) re-sends runs still queued
after a while and closes runs no worker finished with an honest error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from catalog.models import Service, Target
from incidents.models import EventKind, Incident
from incidents.models import Status as IncidentStatus
from incidents.services import timeline_append

from . import baseline, runner
from .models import Diagnosis, ProbeRun, ProbeStatus, Purpose, Runbook, RunState
from .probes import registry
from .probes.base import Status

logger = logging.getLogger(__name__)

STATUS_ICONS = {
    Status.OK: "OK",
    Status.WARNING: "WARNING",
    Status.CRITICAL: "CRITICAL",
    Status.ERROR: "ERROR",
}


class DiagnosticsError(Exception):
    """A request that cannot be carried out as asked (unknown probe, wrong target kind, …)."""

    def __init__(self, message: str, *, code: str = "invalid", errors: dict | None = None):
        super().__init__(message)
        self.code = code
        self.errors = errors or {}


@dataclass(frozen=True)
class PlannedRun:
    probe: str
    target: Target
    params: dict
    step_id: int | None = None
    step_title: str = ""


# --- Planning ---------------------------------------------------------------------------------


def plan_runbook(runbook: Runbook, services: Iterable[Service]) -> list[PlannedRun]:
    """Each step's probe on every enabled target of its kind of each service, in step order."""
    service_ids = [service.pk for service in services]
    targets = list(
        Target.objects.filter(service_id__in=service_ids, enabled=True)
        .select_related("service")
        .order_by("service__name", "name")
    )
    planned = []
    for step in runbook.steps.all().order_by("position", "id"):
        if step.probe not in registry:
            logger.warning(
                "runbook %s step %s names unknown probe %s", runbook, step.pk, step.probe
            )
            continue
        probe = registry.get(step.probe)
        for target in targets:
            if target.kind != probe.kind:
                continue
            if step.target_name and target.name != step.target_name:
                continue
            if not probe.applies_to(target):
                continue
            planned.append(
                PlannedRun(
                    probe=probe.name,
                    target=target,
                    params=step.params or {},
                    step_id=step.pk,
                    step_title=step.title or probe.title,
                )
            )
    return planned


def plan_health_check(services: Iterable[Service]) -> list[PlannedRun]:
    """The health probes of every enabled target of the services (the default verification)."""
    planned = []
    targets = Target.objects.filter(service__in=list(services), enabled=True).select_related(
        "service"
    )
    for target in targets.order_by("service__name", "name"):
        for probe in registry.health_probes(target.kind):
            if not probe.applies_to(target):
                continue
            planned.append(
                PlannedRun(probe=probe.name, target=target, params={}, step_title=probe.title)
            )
    return planned


def plan_single(probe_name: str, target: Target, params: dict | None) -> list[PlannedRun]:
    if probe_name not in registry:
        raise DiagnosticsError(f"Unknown probe {probe_name!r}.", code="unknown_probe")
    probe = registry.get(probe_name)
    if probe.kind != target.kind:
        raise DiagnosticsError(
            f"Probe {probe_name} checks {probe.kind} targets; {target} is a {target.kind} target.",
            code="wrong_target_kind",
        )
    return [PlannedRun(probe=probe_name, target=target, params=params or {})]


# --- Starting ---------------------------------------------------------------------------------


def diagnosis_start(
    *,
    title: str,
    purpose: str,
    planned: list[PlannedRun],
    trigger: str,
    incident: Incident | None = None,
    service: Service | None = None,
    runbook: Runbook | None = None,
    by=None,
) -> Diagnosis:
    """Store the planned runs and send them to the workers after commit.

    Params are validated here, before anything is stored: a bad parameter is the caller's 400,
    not a failed probe later. A closed incident's timeline is final: nothing starts on it.
    """
    if incident is not None and incident.status == IncidentStatus.CLOSED:
        raise DiagnosticsError(f"{incident.ref} is closed.", code="incident_closed")
    validated = []
    for plan in planned:
        probe = registry.get(plan.probe)
        raw = dict(plan.params or {})
        timeout = _timeout(raw.pop("timeout_s", None), probe.default_timeout_s, plan.probe)
        try:
            params = probe.validate_params(raw)
        except Exception as exc:  # DRF ValidationError: report which step/probe it was
            detail = getattr(exc, "detail", str(exc))
            raise DiagnosticsError(
                f"Invalid parameters for {plan.probe}.",
                code="invalid_params",
                errors={plan.probe: detail},
            ) from exc
        validated.append((plan, params, timeout))

    now = timezone.now()
    with transaction.atomic():
        diagnosis = Diagnosis.objects.create(
            incident=incident,
            service=service,
            runbook=runbook,
            purpose=purpose,
            title=title[:200],
            started_by=by,
            trigger=trigger[:200],
            total=len(validated),
            remaining=len(validated),
        )
        runs = ProbeRun.objects.bulk_create(
            [
                ProbeRun(
                    diagnosis=diagnosis,
                    position=position,
                    step_id=plan.step_id,
                    step_title=plan.step_title[:200],
                    probe=plan.probe,
                    target=plan.target,
                    target_label=f"{plan.target.service.name} / {plan.target.name}"[:220],
                    target_kind=plan.target.kind,
                    params=params,
                    timeout_s=timeout,
                )
                for position, (plan, params, timeout) in enumerate(validated)
            ]
        )
        if incident is not None:
            timeline_append(
                incident_id=incident.pk,
                kind=EventKind.PROBE_RESULT,
                body=_started_text(diagnosis, runs),
                data={
                    "diagnosis_id": diagnosis.pk,
                    "phase": "started",
                    "title": diagnosis.title,
                    "purpose": purpose,
                    "probes": len(runs),
                    "trigger": diagnosis.trigger,
                },
                author=by,
                now=now,
            )
        if not runs:
            _diagnosis_complete(diagnosis.pk, now=now)
        else:
            run_ids = [run.pk for run in runs]
            transaction.on_commit(lambda: enqueue(run_ids))
    return diagnosis


def _timeout(value, default: float, probe_name: str) -> float:
    """A run's timeout: the step's `timeout_s` param or the probe's default, capped."""
    if value is None:
        return min(default, settings.DIAGNOSTICS_MAX_PROBE_TIMEOUT_S)
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    limit = settings.DIAGNOSTICS_MAX_PROBE_TIMEOUT_S
    if not 0.1 <= seconds <= limit:
        raise DiagnosticsError(
            f"Invalid parameters for {probe_name}.",
            code="invalid_params",
            errors={probe_name: {"timeout_s": [f"A number of seconds from 0.1 to {limit:g}."]}},
        )
    return seconds


def _started_text(diagnosis: Diagnosis, runs: list[ProbeRun]) -> str:
    if not runs:
        return f"{diagnosis.title}: nothing to probe (no enabled targets of the kinds it checks)."
    return f"{diagnosis.title}: {len(runs)} probe{'s' if len(runs) != 1 else ''} started."


def runbook_start(*, runbook: Runbook, incident: Incident, by=None, trigger: str) -> Diagnosis:
    services = list(incident.services.all())
    return diagnosis_start(
        title=f"Runbook: {runbook.name}",
        purpose=Purpose.RUNBOOK,
        planned=plan_runbook(runbook, services),
        trigger=trigger,
        incident=incident,
        runbook=runbook,
        by=by,
    )


def probe_start(
    *, probe: str, target: Target, params: dict | None, by, incident: Incident | None = None
) -> Diagnosis:
    return diagnosis_start(
        title=f"{registry.get(probe).title if probe in registry else probe} on {target.name}",
        purpose=Purpose.PROBE,
        planned=plan_single(probe, target, params),
        trigger=f"started by {by.get_username()}" if by else "started by the system",
        incident=incident,
        by=by,
    )


def health_check_start(*, service: Service, by, incident: Incident | None = None) -> Diagnosis:
    return diagnosis_start(
        title=f"Health check: {service.name}",
        purpose=Purpose.HEALTH_CHECK,
        planned=plan_health_check([service]),
        trigger=f"started by {by.get_username()}" if by else "started by the system",
        incident=incident,
        service=service,
        by=by,
    )


def run_again(*, run: ProbeRun, by) -> Diagnosis:
    """Re-run one probe with the same target and params (a responder's "run again")."""
    if run.target is None:
        raise DiagnosticsError("The target of this run no longer exists.", code="target_gone")
    params = {**run.params, "timeout_s": run.timeout_s}
    plan = PlannedRun(probe=run.probe, target=run.target, params=params, step_title=run.step_title)
    return diagnosis_start(
        title=f"Re-run: {run.step_title or run.probe} on {run.target.name}",
        purpose=Purpose.PROBE,
        planned=[plan],
        trigger=f"re-run of probe run {run.pk} by {by.get_username()}",
        incident=run.diagnosis.incident,
        service=run.diagnosis.service,
        by=by,
    )


def enqueue(run_ids: list[int]) -> None:
    """Send the runs to the workers; a failed send is left to the sweeper, never raised."""
    if settings.DIAGNOSTICS_RUN_INLINE:
        for run_id in run_ids:
            run_execute(run_id)
        return
    from .tasks import send_runs

    try:
        send_runs(run_ids)
    except Exception as exc:  # broker down: the runs stay queued and `sweep` re-sends them
        logger.warning("could not enqueue probe runs %s: %r", run_ids, exc)


# --- Running ----------------------------------------------------------------------------------


def run_claim(run_id: int, *, now=None) -> ProbeRun | None:
    """Mark the run running if it is ours to run; None when it is done or running elsewhere.

    One conditional UPDATE decides, so two deliveries of the same task cannot both run it. A
    run stuck in `running` past the longest probe timeout plus grace belonged to a worker that
    died; it may be claimed again (probes are read-only, so running one twice is harmless), up
    to DIAGNOSTICS_MAX_ATTEMPTS times.
    """
    now = now or timezone.now()
    stale_before = now - timedelta(seconds=settings.DIAGNOSTICS_STALE_RUNNING_S)
    claimable = ProbeRun.objects.filter(pk=run_id).filter(
        Q(state=RunState.QUEUED) | Q(state=RunState.RUNNING, started_at__lt=stale_before)
    )
    exhausted = claimable.filter(attempts__gte=settings.DIAGNOSTICS_MAX_ATTEMPTS).first()
    if exhausted is not None:
        message = f"gave up after {exhausted.attempts} attempts (the worker was lost each time)"
        run_finish(exhausted, runner.error_outcome(message), now=now)
        return None
    claimed = claimable.update(state=RunState.RUNNING, started_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return None
    return ProbeRun.objects.get(pk=run_id)


def run_execute(run_id: int) -> ProbeRun | None:
    run = run_claim(run_id)
    if run is None:
        return None
    target = Target.objects.filter(pk=run.target_id).select_related("service").first()
    if target is None:
        outcome = runner.error_outcome("the target was deleted before the probe ran")
    elif not target.enabled:
        outcome = runner.error_outcome("the target is disabled")
    else:
        outcome = runner.run_probe(run.probe, target, dict(run.params), run.timeout_s)
    return run_finish(run, outcome)


def run_finish(run: ProbeRun, outcome: runner.Outcome, *, now=None) -> ProbeRun | None:
    """Store the outcome once; append the timeline event; complete the set if it was the last."""
    now = now or timezone.now()
    base = _baseline_for(run) if outcome.status != Status.ERROR else None
    changes = baseline.compare(outcome.result, base.result) if base else {}
    with transaction.atomic():
        updated = (
            ProbeRun.objects.filter(pk=run.pk)
            .exclude(state=RunState.DONE)
            .update(
                state=RunState.DONE,
                status=outcome.status,
                summary=outcome.summary[:500],
                result=outcome.result,
                error=outcome.error,
                duration_ms=outcome.duration_ms,
                finished_at=now,
                baseline=base,
                changes=changes,
            )
        )
        if not updated:  # finished by someone else (sweeper or a duplicate task): keep theirs
            return None
        run.refresh_from_db()
        diagnosis = run.diagnosis
        if diagnosis.incident_id:
            timeline_append(
                incident_id=diagnosis.incident_id,
                kind=EventKind.PROBE_RESULT,
                body=f"{STATUS_ICONS[run.status]} {run.step_title or run.probe} "
                f"on {run.target_label}: {run.summary}",
                data=_run_event_data(run),
                now=now,
            )
        remaining = Diagnosis.objects.filter(pk=diagnosis.pk, remaining__gt=0).update(
            remaining=F("remaining") - 1
        )
        if remaining:
            diagnosis.refresh_from_db(fields=["remaining"])
            if diagnosis.remaining == 0:
                _diagnosis_complete(diagnosis.pk, now=now)
    return run


def _baseline_for(run: ProbeRun) -> ProbeRun | None:
    if run.target_id is None:
        return None
    return (
        ProbeRun.objects.filter(
            probe=run.probe, target_id=run.target_id, state=RunState.DONE, status=Status.OK
        )
        .exclude(pk=run.pk)
        .order_by("-finished_at")
        .only("id", "result", "finished_at")
        .first()
    )


def _run_event_data(run: ProbeRun) -> dict:
    return {
        "diagnosis_id": run.diagnosis_id,
        "run_id": run.pk,
        "phase": "result",
        "probe": run.probe,
        "step": run.step_title,
        "target": run.target_label,
        "status": run.status,
        "summary": run.summary,
        "duration_ms": run.duration_ms,
        "new_findings": sum(t["count"] for t in run.changes.get("new_findings", [])),
        "worse_checks": len(run.changes.get("worse_checks", [])),
    }


# --- Completing a set -------------------------------------------------------------------------

# Called with the finished Diagnosis (inside the transaction that finished it): verification
# uses this to resolve or reopen. Registered by modules of this app, not by other apps.
_completion_listeners: list[Callable[[Diagnosis], None]] = []


def on_diagnosis_complete(listener: Callable[[Diagnosis], None]) -> None:
    if listener not in _completion_listeners:
        _completion_listeners.append(listener)


def _diagnosis_complete(diagnosis_id: int, *, now) -> None:
    diagnosis = Diagnosis.objects.select_for_update().get(pk=diagnosis_id)
    if diagnosis.finished_at is not None:
        return
    runs = list(diagnosis.runs.order_by("position", "id"))
    ordered = sorted(runs, key=lambda r: (-Status.RANK.get(r.status, 0), r.position))
    counts = {status: 0 for status in Status.CHOICES}
    for run in runs:
        counts[run.status] = counts.get(run.status, 0) + 1
    diagnosis.status = Status.worst(run.status for run in runs) if runs else ProbeStatus.OK
    diagnosis.summary = _set_summary(runs, counts)[:500]
    diagnosis.finished_at = now
    diagnosis.save(update_fields=["status", "summary", "finished_at"])
    if diagnosis.incident_id:
        timeline_append(
            incident_id=diagnosis.incident_id,
            kind=EventKind.PROBE_RESULT,
            body=f"{STATUS_ICONS[diagnosis.status]} {diagnosis.title} finished: "
            f"{diagnosis.summary}",
            data={
                "diagnosis_id": diagnosis.pk,
                "phase": "summary",
                "title": diagnosis.title,
                "status": diagnosis.status,
                "counts": counts,
                "runs": [
                    {
                        "run_id": run.pk,
                        "probe": run.probe,
                        "step": run.step_title,
                        "target": run.target_label,
                        "status": run.status,
                        "summary": run.summary,
                    }
                    for run in ordered[:50]
                ],
            },
            now=now,
        )
    for listener in list(_completion_listeners):
        listener(diagnosis)


def _set_summary(runs: list[ProbeRun], counts: dict) -> str:
    if not runs:
        return "nothing to probe"
    parts = [
        f"{counts[status]} {status}"
        for status in (Status.CRITICAL, Status.ERROR, Status.WARNING, Status.OK)
        if counts.get(status)
    ]
    return f"{len(runs)} probe{'s' if len(runs) != 1 else ''}: " + ", ".join(parts)


# --- Sweeping ---------------------------------------------------------------------------------


def sweep(*, now=None) -> dict:
    """Re-send runs a lost message left queued; close runs no worker will ever finish."""
    now = now or timezone.now()
    resend_before = now - timedelta(seconds=settings.DIAGNOSTICS_RESEND_AFTER_S)
    give_up_before = now - timedelta(seconds=settings.DIAGNOSTICS_PICKUP_DEADLINE_S)
    abandoned = 0
    for run in ProbeRun.objects.filter(state=RunState.QUEUED, queued_at__lt=give_up_before)[:500]:
        seconds = settings.DIAGNOSTICS_PICKUP_DEADLINE_S
        if run_finish(
            run, runner.error_outcome(f"no worker picked it up within {seconds}s"), now=now
        ):
            abandoned += 1
    resend = list(
        ProbeRun.objects.filter(
            state=RunState.QUEUED, queued_at__lt=resend_before, queued_at__gte=give_up_before
        ).values_list("pk", flat=True)[:500]
    )
    # Runs whose worker died mid-probe: claimable again once stale (run_claim decides).
    stale_before = now - timedelta(seconds=settings.DIAGNOSTICS_STALE_RUNNING_S)
    resend += list(
        ProbeRun.objects.filter(state=RunState.RUNNING, started_at__lt=stale_before).values_list(
            "pk", flat=True
        )[:500]
    )
    if resend:
        enqueue(resend)
    return {"resent": len(resend), "abandoned": abandoned}
