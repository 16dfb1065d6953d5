"""Verified resolution, the post-resolution watch and the evidence gate.

Verified resolution: instead of resolving on a hunch, the commander asks to resolve *once a
probe set passes* (a named runbook, or the affected services' health probes). The incident stays
where it is while the set runs; when it passes (no critical and no error result: warnings such as
"pg_stat_statements is not installed" are not a reason to keep an incident open) the incident
moves to resolved, and a watch re-runs the set every DIAGNOSTICS_WATCH_INTERVAL_S for
DIAGNOSTICS_WATCH_MINUTES. A failing watch run reopens the incident, says why on the timeline
and publishes `incident.regressed` so the commander is notified.

Evidence gate: a severity policy with `require_diagnosis_to_mitigate` blocks
`investigating → mitigating` until the incident has a finished diagnosis (or the commander
records a reason to go ahead without one; incidents/gates.py does the blocking and recording).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from incidents import events
from incidents.gates import GateOutcome
from incidents.models import EventKind, Incident, Status
from incidents.playbook import allowed_targets
from incidents.services import IllegalTransition, incident_transition, timeline_append

from .models import Diagnosis, Purpose, Runbook, Verification, VerificationState
from .probes.base import Status as ProbeStatus
from .services import (
    DiagnosticsError,
    diagnosis_start,
    on_diagnosis_complete,
    plan_health_check,
    plan_runbook,
)

logger = logging.getLogger(__name__)

ACTIVE = (VerificationState.VERIFYING, VerificationState.WATCHING)


def passed(diagnosis: Diagnosis) -> bool:
    return diagnosis.status in (ProbeStatus.OK, ProbeStatus.WARNING)


def _plan(incident: Incident, runbook: Runbook | None):
    services = list(incident.services.all())
    return plan_runbook(runbook, services) if runbook else plan_health_check(services)


def _set_title(runbook: Runbook | None) -> str:
    return f"runbook {runbook.name}" if runbook else "the affected services' health probes"


def verification_request(
    *,
    incident: Incident,
    by,
    runbook: Runbook | None = None,
    note: str = "",
    watch_minutes: int | None = None,
) -> Verification:
    """Start verifying; the incident resolves when the set passes (see module doc)."""
    minutes = settings.DIAGNOSTICS_WATCH_MINUTES if watch_minutes is None else watch_minutes
    try:
        with transaction.atomic():
            incident = Incident.objects.select_for_update().get(pk=incident.pk)
            if Status.RESOLVED not in allowed_targets(incident.status):
                raise DiagnosticsError(
                    f"{incident.ref} is {incident.status}: it cannot be resolved from there.",
                    code="illegal_transition",
                )
            planned = _plan(incident, runbook)
            if not planned:
                raise DiagnosticsError(
                    "Nothing to verify with: the affected services have no enabled targets "
                    f"that {_set_title(runbook)} can check. Resolve directly instead.",
                    code="nothing_to_verify",
                )
            verification = Verification.objects.create(
                incident=incident,
                runbook=runbook,
                state=VerificationState.VERIFYING,
                requested_by=by,
                note=note[:5000],
                watch_minutes=minutes,
            )
            timeline_append(
                incident_id=incident.pk,
                kind=EventKind.PROBE_RESULT,
                body=f"Resolution requested: verifying with {_set_title(runbook)} first"
                + (f", then watching for {minutes} min." if minutes else "."),
                data={"phase": "verification_requested", "watch_minutes": minutes},
                author=by,
            )
            verification.diagnosis = diagnosis_start(
                title=f"Verification: {_set_title(runbook)}",
                purpose=Purpose.VERIFICATION,
                planned=planned,
                trigger=f"resolution requested by {by.get_username()}",
                incident=incident,
                runbook=runbook,
                by=by,
            )
            verification.save(update_fields=["diagnosis", "updated_at"])
    except IntegrityError as exc:
        raise DiagnosticsError(
            f"{incident.ref} is already being verified or watched.", code="already_verifying"
        ) from exc
    return verification


def _on_complete(diagnosis: Diagnosis) -> None:
    if diagnosis.purpose not in (Purpose.VERIFICATION, Purpose.WATCH):
        return
    verification = (
        Verification.objects.select_for_update()
        .filter(diagnosis=diagnosis, state__in=ACTIVE)
        .select_related("incident")
        .first()
    )
    if verification is None:
        return
    now = diagnosis.finished_at or timezone.now()
    if verification.state == VerificationState.VERIFYING:
        _verification_finished(verification, diagnosis, now)
    else:
        _watch_run_finished(verification, diagnosis, now)


def _verification_finished(verification: Verification, diagnosis: Diagnosis, now) -> None:
    incident = Incident.objects.select_for_update().get(pk=verification.incident_id)
    if not passed(diagnosis):
        verification.state = VerificationState.FAILED
        verification.save(update_fields=["state", "updated_at"])
        timeline_append(
            incident_id=incident.pk,
            kind=EventKind.PROBE_RESULT,
            body=f"Verification failed ({diagnosis.summary}): {incident.ref} stays "
            f"{incident.status}.",
            data={"phase": "verification_failed", "diagnosis_id": diagnosis.pk},
            now=now,
        )
        return
    if incident.status == Status.CLOSED:
        verification.state = VerificationState.CANCELLED
        verification.save(update_fields=["state", "updated_at"])
        return
    if incident.status != Status.RESOLVED:
        try:
            incident_transition(
                incident=incident,
                to=Status.RESOLVED,
                by=verification.requested_by,
                note=f"Verified: {diagnosis.title} passed ({diagnosis.summary}).",
                now=now,
            )
        except IllegalTransition:
            verification.state = VerificationState.CANCELLED
            verification.save(update_fields=["state", "updated_at"])
            return
    if verification.watch_minutes:
        verification.state = VerificationState.WATCHING
        verification.watch_until = now + timedelta(minutes=verification.watch_minutes)
        verification.next_check_at = now + timedelta(seconds=settings.DIAGNOSTICS_WATCH_INTERVAL_S)
        timeline_append(
            incident_id=incident.pk,
            kind=EventKind.PROBE_RESULT,
            body=f"Watching for regressions until {verification.watch_until:%H:%M} UTC "
            f"(every {settings.DIAGNOSTICS_WATCH_INTERVAL_S // 60 or 1} min).",
            data={"phase": "watch_started", "until": verification.watch_until.isoformat()},
            now=now,
        )
    else:
        verification.state = VerificationState.PASSED
    verification.save()


def _watch_run_finished(verification: Verification, diagnosis: Diagnosis, now) -> None:
    incident = Incident.objects.select_for_update().get(pk=verification.incident_id)
    if incident.status != Status.RESOLVED:  # reopened or closed by hand meanwhile
        verification.state = VerificationState.CANCELLED
        verification.save(update_fields=["state", "updated_at"])
        return
    if passed(diagnosis):
        verification.checks_passed += 1
        if now >= verification.watch_until:
            verification.state = VerificationState.PASSED
            timeline_append(
                incident_id=incident.pk,
                kind=EventKind.PROBE_RESULT,
                body=f"Watch passed: {verification.checks_passed} check"
                f"{'s' if verification.checks_passed != 1 else ''} found no regression.",
                data={"phase": "watch_passed", "checks": verification.checks_passed},
                now=now,
            )
        else:
            verification.next_check_at = now + timedelta(
                seconds=settings.DIAGNOSTICS_WATCH_INTERVAL_S
            )
        verification.save()
        return
    verification.state = VerificationState.REGRESSED
    verification.save(update_fields=["state", "updated_at"])
    reason = f"the post-resolution watch found a regression: {diagnosis.summary}"
    incident_transition(
        incident=incident, to=Status.INVESTIGATING, by=None, note=f"Reopened: {reason}.", now=now
    )
    events.publish(
        "incident.regressed",
        incident_id=incident.pk,
        payload={
            "ref": incident.ref,
            "commander_id": incident.commander_id,
            "reason": reason,
            "diagnosis_id": diagnosis.pk,
        },
    )


def watches_due(*, now=None) -> int:
    """Start the watch runs that are due (beat, via diagnostics.sweep)."""
    now = now or timezone.now()
    started = 0
    due = Verification.objects.filter(
        state=VerificationState.WATCHING, next_check_at__lte=now
    ).values_list("pk", flat=True)
    for pk in list(due[:100]):
        with transaction.atomic():
            verification = (
                Verification.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk=pk, state=VerificationState.WATCHING, next_check_at__lte=now)
                .select_related("incident", "runbook")
                .first()
            )
            if verification is None:
                continue
            incident = verification.incident
            if incident.status != Status.RESOLVED:
                verification.state = VerificationState.CANCELLED
                verification.save(update_fields=["state", "updated_at"])
                continue
            diagnosis = diagnosis_start(
                title=f"Watch: {_set_title(verification.runbook)}",
                purpose=Purpose.WATCH,
                planned=_plan(incident, verification.runbook),
                trigger="post-resolution watch",
                incident=incident,
                runbook=verification.runbook,
            )
            verification.diagnosis = diagnosis
            verification.next_check_at = None
            verification.save(update_fields=["diagnosis", "next_check_at", "updated_at"])
            started += 1
    return started


def verification_cancel(*, verification: Verification, by) -> None:
    with transaction.atomic():
        updated = Verification.objects.filter(pk=verification.pk, state__in=ACTIVE).update(
            state=VerificationState.CANCELLED
        )
        if updated:
            timeline_append(
                incident_id=verification.incident_id,
                kind=EventKind.PROBE_RESULT,
                body="Verification cancelled.",
                data={"phase": "verification_cancelled"},
                author=by,
            )


# --- Evidence gate ----------------------------------------------------------------------------


def diagnosis_gate(incident: Incident, current: str, to: str) -> GateOutcome | None:
    if to != Status.MITIGATING or current not in (Status.ACKNOWLEDGED, Status.INVESTIGATING):
        return None
    if not incident.severity_policy.require_diagnosis_to_mitigate:
        return None
    latest = (
        Diagnosis.objects.filter(incident_id=incident.pk, finished_at__isnull=False)
        .order_by("-finished_at")
        .only("id", "title", "summary", "status", "finished_at")
        .first()
    )
    if latest is None:
        return GateOutcome(
            "diagnosis",
            False,
            f"{incident.severity} policy: mitigation needs a finished diagnosis run first "
            "(run a runbook or a probe), or a reason to go ahead without one.",
        )
    return GateOutcome(
        "diagnosis",
        True,
        f"Diagnosis “{latest.title}” ({latest.status}) finished {latest.finished_at:%H:%M:%S} "
        f"UTC: {latest.summary}",
    )


on_diagnosis_complete(_on_complete)
