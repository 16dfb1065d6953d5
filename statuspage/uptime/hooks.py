"""Refresh the rollups right after the writes that change them (the beat catches up on any
refresh that fails here: it recomputes from the last unfinished day)."""

from __future__ import annotations

from datetime import datetime

from catalog.models import Service
from catalog.services import register_status_listener
from incidents import events
from incidents.models import OutboxEvent

from .refresh import uptime_refresh_incident, uptime_refresh_service


def _status_changed(*, service: Service, changed_at: datetime) -> None:
    uptime_refresh_service(service, changed_at)


def _public_update(event: OutboxEvent) -> None:
    # The update's incident may now touch a component (or another day) it did not before.
    uptime_refresh_incident(event.incident_id)


def connect() -> None:
    """From StatuspageConfig.ready(): the catalog and incidents call back after commit."""
    register_status_listener(_status_changed)
    events.subscribe("incident.public_update", _public_update)
