"""Builders for status page tests: windows written straight to the tables, public log entries
on the lead's contract (`data["status"]` = the window state the entry announces)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from maintenance.log import window_event_append
from maintenance.models import MaintenanceWindow, WindowEventKind, WindowState
from ops_portal.timeline import Visibility

HOUR = timedelta(hours=1)

V2_PATHS = [
    "/api/v2/components.json",
    "/api/v2/scheduled-maintenances.json",
    "/api/v2/scheduled-maintenances/upcoming.json",
    "/api/v2/scheduled-maintenances/active.json",
]


def make_window(services, *, title="Database upgrade", start=None, hours=2, **fields):
    start = start or timezone.now() + 3 * HOUR
    window = MaintenanceWindow.objects.create(
        title=title, scheduled_start=start, scheduled_end=start + hours * HOUR, **fields
    )
    window.services.set(services)
    return window


def announce(window, body, *, status=None, visibility=Visibility.PUBLIC, **data):
    return window_event_append(
        window_id=window.pk,
        kind=WindowEventKind.STATE_CHANGE,
        body=body,
        data={"status": status or window.state, **data},
        visibility=visibility,
    )


def move(window, state, *, body="", at=None):
    """Put the window in `state` with its timestamp, and announce it publicly."""
    at = at or timezone.now()
    window.state = state
    stamp = {
        WindowState.IN_PROGRESS: "started_at",
        WindowState.VERIFYING: "verifying_at",
        WindowState.COMPLETED: "completed_at",
        WindowState.CANCELLED: "cancelled_at",
    }[state]
    setattr(window, stamp, at)
    window.save()
    announce(window, body or f"Now {state}.")
    return window
