"""Every write of backup verification: requesting, running and scheduling checks.

A check is a BackupVerification row: `queued → running → passed | failed | error`. Requesting
one validates the target and the dump path and sends the task after commit; the task calls
`backup_check_run`, which claims the row with a conditional UPDATE (a redelivered or duplicate
task finds it claimed and does nothing), runs verify.py and records the outcome — and, for a
check made during a maintenance window, a `backup` event on the window's log.

Deadlines live in the database (ARCHITECTURE.md §9): `backup_schedules_sweep` claims due
schedules by moving their `next_run_at` with a conditional UPDATE, so overlapping beat runs
start one check each; `backup_checks_sweep` re-sends checks a lost message left queued and
closes checks whose worker died, dropping the scratch database they may have left.
"""

from __future__ import annotations

import logging
import math
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from catalog.models import Target, TargetKind
from diagnostics.redaction import clip, redact

from ..errors import MaintenanceError
from ..log import window_event_append
from ..models import (
    BackupSchedule,
    BackupState,
    BackupVerification,
    MaintenanceWindow,
    WindowEventKind,
)
from . import databases, verify
from .paths import confine_dump_path
from .tools import BackupToolError, Deadline

logger = logging.getLogger(__name__)

# A queued check no worker has claimed after this long is sent again (the claim makes a
# duplicate harmless); after PICKUP_DEADLINE it is closed as an error instead.
RESEND_AFTER = timedelta(minutes=10)
PICKUP_DEADLINE = timedelta(hours=2)
MAX_INTERVAL_HOURS = 24 * 366
FINISHED = (BackupState.PASSED, BackupState.FAILED, BackupState.ERROR)


def stale_running_after() -> timedelta:
    """A running check older than the task's hard time limit (plus slack) has lost its worker."""
    return timedelta(seconds=settings.MAINTENANCE_BACKUP_TASK_TIME_LIMIT + 60)


# --- Requesting -------------------------------------------------------------------------------


def _validate_target(target: Target) -> None:
    if target.kind != TargetKind.POSTGRES:
        raise MaintenanceError(
            f"Backups are verified for PostgreSQL targets; {target.name} is a {target.kind} "
            "target.",
            code="wrong_target_kind",
        )


def backup_check_request(
    *,
    target: Target,
    dump_path: str = "",
    by=None,
    window: MaintenanceWindow | None = None,
    schedule: BackupSchedule | None = None,
) -> BackupVerification:
    """Queue a check of `target`'s backup: the given dump, or a fresh pg_dump when empty."""
    _validate_target(target)
    resolved = str(confine_dump_path(dump_path)) if dump_path.strip() else ""
    with transaction.atomic():
        check = BackupVerification.objects.create(
            target=target,
            window=window,
            schedule=schedule,
            dump_path=resolved,
            requested_by=by,
        )
        _enqueue_on_commit(check.pk)
    return check


def _enqueue_on_commit(check_id: int) -> None:
    transaction.on_commit(lambda: enqueue(check_id))


def enqueue(check_id: int) -> None:
    """Send the check to a worker; a failed send is left to the sweeper, never raised."""
    from ..tasks import backup_check_run as task

    try:
        # The default worker's queue, named at send time (tests point it at their own worker).
        task.apply_async((check_id,), queue=settings.CELERY_TASK_DEFAULT_QUEUE)
    except Exception as exc:  # broker down: `backup_checks_sweep` sends it again
        logger.warning("could not enqueue backup check %s: %r", check_id, exc)


# --- Running ----------------------------------------------------------------------------------


def backup_check_run(check_id: int, *, now: datetime | None = None) -> BackupVerification | None:
    """Run a queued check to its outcome; None when it was not ours to run (claimed or done)."""
    started_at = now or timezone.now()
    claimed = BackupVerification.objects.filter(pk=check_id, state=BackupState.QUEUED).update(
        state=BackupState.RUNNING, started_at=started_at, attempts=F("attempts") + 1
    )
    if not claimed:
        logger.info("backup check %s is not queued any more: nothing to do", check_id)
        return None
    check = BackupVerification.objects.select_related("target__service").get(pk=check_id)
    scratch_name = databases.scratch_name(check.pk)
    # Recorded before the database exists, so the sweeper can drop it if this worker dies.
    BackupVerification.objects.filter(pk=check.pk).update(scratch_database=scratch_name)
    began = time.monotonic()
    outcome = _outcome(check, scratch_name)
    elapsed = time.monotonic() - began
    return _finish(
        check,
        outcome,
        finished_at=started_at + timedelta(seconds=elapsed),
        duration_ms=math.ceil(elapsed * 1000),
    )


def _outcome(check: BackupVerification, scratch_name: str) -> verify.Outcome:
    try:
        # Checked again at run time: the file may have gone, or a link been re-pointed, since.
        dump_path = confine_dump_path(check.dump_path) if check.dump_path else None
        return verify.verify_backup(
            target=check.target,
            scratch_name=scratch_name,
            dump_path=dump_path,
            timeout_s=settings.MAINTENANCE_BACKUP_TIMEOUT_S,
        )
    except MaintenanceError as exc:
        return verify.Outcome.failure(exc.message)
    except Exception as exc:  # the row must never stay `running` because of a bug
        logger.exception("backup check %s crashed", check.pk)
        return verify.Outcome.failure(f"internal error ({type(exc).__name__}): {exc}")


def _finish(
    check: BackupVerification,
    outcome: verify.Outcome,
    *,
    finished_at: datetime,
    duration_ms: int | None,
    from_state: str = BackupState.RUNNING,
) -> BackupVerification | None:
    """Record the outcome if the check is still in `from_state` (the sweeper may have closed
    it, or a worker finished it, meanwhile)."""
    error = clip(redact(outcome.error), 20_000)
    # Function bodies and comments in a diff can hold connection strings (dblink, FDW options).
    schema_diff = redact(outcome.schema_diff)
    with transaction.atomic():
        updated = BackupVerification.objects.filter(pk=check.pk, state=from_state).update(
            state=outcome.state,
            summary=clip(redact(outcome.summary), 500),
            schema_diff=schema_diff,
            row_counts=outcome.row_counts,
            error=error,
            finished_at=finished_at,
            duration_ms=duration_ms,
        )
        if not updated:
            return None
        if check.window_id is not None:
            window_event_append(
                window_id=check.window_id,
                kind=WindowEventKind.BACKUP,
                body=f"Backup check of {check.target}: {outcome.state}. "
                f"{clip(redact(outcome.summary), 500)}",
                data={
                    "check": check.pk,
                    "target": check.target_id,
                    "state": outcome.state,
                    "duration_ms": duration_ms,
                },
                now=finished_at,
            )
    check.refresh_from_db()
    return check


# --- Schedules --------------------------------------------------------------------------------


def backup_schedule_save(
    *,
    target: Target,
    dump_path: str = "",
    interval_hours: int = 24,
    enabled: bool = True,
    next_run_at: datetime | None = None,
    schedule: BackupSchedule | None = None,
) -> BackupSchedule:
    """Create or change a target's schedule (one per target).

    The dump need not exist yet — tonight's backup job may write it — but must lie inside the
    dump directory; a missing file shows up as an `error` check when the schedule runs.
    """
    _validate_target(target)
    if not 1 <= interval_hours <= MAX_INTERVAL_HOURS:
        raise MaintenanceError(
            f"The interval must be between 1 and {MAX_INTERVAL_HOURS} hours.",
            code="invalid_interval",
        )
    if dump_path.strip():
        confine_dump_path(dump_path, must_exist=False)
    other = BackupSchedule.objects.filter(target=target)
    if schedule is not None:
        other = other.exclude(pk=schedule.pk)
    if other.exists():
        raise MaintenanceError(
            f"{target} already has a backup schedule; change that one.", code="schedule_exists"
        )
    schedule = schedule or BackupSchedule(target=target)
    schedule.target = target
    schedule.dump_path = dump_path.strip()
    schedule.interval_hours = interval_hours
    schedule.enabled = enabled
    if next_run_at is not None:
        schedule.next_run_at = next_run_at
    schedule.save()
    return schedule


def backup_schedule_delete(*, schedule: BackupSchedule) -> None:
    schedule.delete()  # its past checks stay (schedule → NULL)


def backup_schedules_sweep(*, now: datetime | None = None) -> int:
    """Start one check per due enabled schedule; return how many were started.

    The claim moves `next_run_at` past `now` (skipping runs missed while beat was down: one
    catch-up check, not a burst) with an UPDATE conditional on the value read, so a second
    beat run that read the same row updates nothing and starts nothing.
    """
    now = now or timezone.now()
    due = list(
        BackupSchedule.objects.filter(enabled=True, next_run_at__lte=now)
        .select_related("target__service")
        .order_by("next_run_at", "pk")[:200]
    )
    started = 0
    for schedule in due:
        interval = timedelta(hours=schedule.interval_hours)
        missed = (now - schedule.next_run_at) // interval + 1
        following = schedule.next_run_at + missed * interval
        with transaction.atomic():
            claimed = BackupSchedule.objects.filter(
                pk=schedule.pk, enabled=True, next_run_at=schedule.next_run_at
            ).update(next_run_at=following, last_run_at=now)
            if not claimed:
                continue
            _scheduled_check(schedule, now)
            started += 1
    return started


def _scheduled_check(schedule: BackupSchedule, now: datetime) -> None:
    try:
        backup_check_request(
            target=schedule.target, dump_path=schedule.dump_path, schedule=schedule
        )
    except MaintenanceError as exc:
        # Tonight's dump is missing or unreadable: exactly what a scheduled check is for, so it
        # is recorded as a failed-to-run check people see, not swallowed.
        BackupVerification.objects.create(
            target=schedule.target,
            schedule=schedule,
            dump_path=schedule.dump_path,
            state=BackupState.ERROR,
            summary=clip(exc.message, 500),
            error=exc.message,
            created_at=now,
            finished_at=now,
        )


# --- Lost checks ------------------------------------------------------------------------------


def backup_checks_sweep(*, now: datetime | None = None) -> dict:
    """Re-send checks a lost message left queued; close checks whose worker died."""
    now = now or timezone.now()
    queued = BackupVerification.objects.filter(state=BackupState.QUEUED)
    abandoned = 0
    for check in queued.filter(created_at__lt=now - PICKUP_DEADLINE).select_related(
        "target__service"
    ):
        hours = PICKUP_DEADLINE.total_seconds() / 3600
        if _close(check, f"No worker picked the check up within {hours:g} h.", now=now):
            abandoned += 1
    resend = list(
        queued.filter(
            created_at__lt=now - RESEND_AFTER, created_at__gte=now - PICKUP_DEADLINE
        ).values_list("pk", flat=True)[:100]
    )
    for check_id in resend:
        enqueue(check_id)
    lost = 0
    stale = BackupVerification.objects.filter(
        state=BackupState.RUNNING, started_at__lt=now - stale_running_after()
    ).select_related("target__service")
    for check in stale[:100]:
        message = "Worker lost: the check was still running past its time limit."
        if check.scratch_database:
            message += _drop_leftover(check)
        if _close(check, message, now=now):
            lost += 1
    return {"resent": len(resend), "abandoned": abandoned, "worker_lost": lost}


def _close(check: BackupVerification, message: str, *, now: datetime) -> bool:
    """Move a queued or running check to `error` (conditional on the state just read)."""
    outcome = verify.Outcome.failure(message)
    closed = _finish(check, outcome, finished_at=now, duration_ms=None, from_state=check.state)
    return closed is not None


def _drop_leftover(check: BackupVerification) -> str:
    try:
        server = verify.scratch_server_endpoint(verify.source_endpoint(check.target))
        databases.drop_database(
            server, check.scratch_database, deadline=Deadline(verify.DROP_BUDGET_S)
        )
    except BackupToolError as exc:
        return f" Its scratch database {check.scratch_database} could not be dropped: {exc}"
    return f" Its scratch database {check.scratch_database} was dropped."
