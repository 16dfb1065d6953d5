"""Project-level tasks: the worker heartbeat that /health reads to judge the broker path."""

from __future__ import annotations

from celery import shared_task

from .services import heartbeat_record


@shared_task(name="ops_portal.tasks.record_heartbeat")
def record_heartbeat() -> None:
    from celery import current_task

    heartbeat_record(worker=current_task.request.hostname or "unknown")
