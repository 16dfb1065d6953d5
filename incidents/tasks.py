"""Celery tasks of the incidents app: thin wrappers over services."""

from __future__ import annotations

from celery import shared_task

from .escalation import escalate_overdue


@shared_task(name="incidents.escalate_overdue")
def escalate_overdue_task() -> dict:
    result = escalate_overdue()
    return {"acknowledgements": result.acknowledgements, "tasks": result.tasks}


@shared_task(name="incidents.append_worker_note")
def append_worker_note(incident_id: int, body: str) -> int:
    """Append an internal note from a worker (used by diagnostics and to prove the live path)."""
    from .models import EventKind
    from .services import timeline_append

    return timeline_append(incident_id=incident_id, kind=EventKind.NOTE, body=body).seq
