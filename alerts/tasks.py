"""Celery tasks of the alerts app: thin wrappers over services."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="alerts.process_pending")
def process_pending() -> int:
    """Drain every unprocessed delivery (sent by the web's nudge thread)."""
    return services.pending_process()


@shared_task(name="alerts.sweep")
def sweep() -> dict:
    return services.sweep()


@shared_task(name="alerts.prune_raw_events")
def prune_raw_events() -> int:
    return services.raw_events_prune()
