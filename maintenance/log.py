"""Appends to a window's log, on the shared timeline mechanism (ops_portal.timeline)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from ops_portal.timeline import Visibility, next_seq

from .models import MaintenanceWindow, WindowEvent


def window_event_append(
    *,
    window_id: int,
    kind: str,
    body: str = "",
    data: dict | None = None,
    visibility: str = Visibility.INTERNAL,
    author=None,
    now: datetime | None = None,
) -> WindowEvent:
    """Append one event with the window's next contiguous `seq`.

    Public events carry `data["status"]` (the window state they announce): the status page
    turns them into Statuspage `incident_updates`.
    """
    with transaction.atomic():
        seq = next_seq(MaintenanceWindow, window_id)
        return WindowEvent.objects.create(
            window_id=window_id,
            seq=seq,
            kind=kind,
            visibility=visibility,
            author=author,
            body=body,
            data=data or {},
            created_at=now or timezone.now(),
        )
