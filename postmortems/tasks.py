"""Celery tasks of postmortems: thin wrappers over services."""

from __future__ import annotations

from celery import shared_task

from . import reminders, services


@shared_task(name="postmortems.sweep")
def sweep() -> dict:
    """Create postmortems the resolve hook missed, then send due reminders (both idempotent)."""
    created = services.postmortems_ensure()
    return {"created": created, **reminders.reminders_send_due()}
