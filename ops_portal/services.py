"""Writes the project package owns."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from .models import WorkerHeartbeat


def heartbeat_record(*, worker: str, now: datetime | None = None) -> WorkerHeartbeat:
    heartbeat, _ = WorkerHeartbeat.objects.update_or_create(
        worker=worker[:255], defaults={"last_seen": now or timezone.now()}
    )
    return heartbeat
