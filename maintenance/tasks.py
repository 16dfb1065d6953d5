"""Celery tasks of maintenance: thin wrappers over services, taking ids.

Backup checks run on the default worker: they are few, spend minutes in pg_dump/pg_restore
subprocesses, and must not hold up the probes queue's short probe runs.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from . import notices
from .backup import services as backup


# The hard limit sits above the check's own deadline (MAINTENANCE_BACKUP_TIMEOUT_S), so the check
# ends itself, records why and drops its scratch database before Celery would kill it; settings
# keep the limit below Redis' visibility timeout.
@shared_task(
    name="maintenance.backup_check_run",
    time_limit=settings.MAINTENANCE_BACKUP_TASK_TIME_LIMIT,
    soft_time_limit=settings.MAINTENANCE_BACKUP_TASK_TIME_LIMIT - 30,
)
def backup_check_run(check_id: int) -> str | None:
    check = backup.backup_check_run(check_id)
    return check.state if check else None


@shared_task(name="maintenance.backup_sweep")
def backup_sweep() -> dict:
    report = backup.backup_checks_sweep()
    report["scheduled"] = backup.backup_schedules_sweep()
    return report


@shared_task(name="maintenance.send_notices")
def send_notices() -> int:
    """Send due 24 h notices (each once: a unique row per window and time)."""
    return notices.notices_send_due()
