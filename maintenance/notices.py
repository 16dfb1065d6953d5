"""Maintenance notices to the affected services' stakeholders: 24 h ahead, on start and end.

A notice is a MaintenanceNotice row, unique on (window, kind, the window time it is about), plus
an outbox event `maintenance.notice` in the same transaction; the notifications app delivers the
outbox. The unique row is what makes "once" hold across overlapping beat runs and restarts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from incidents import events

from .log import window_event_append
from .models import (
    MaintenanceNotice,
    MaintenanceWindow,
    NoticeKind,
    WindowEventKind,
    WindowState,
)

NOTICE_TOPIC = "maintenance.notice"
ADVANCE_NOTICE = timedelta(hours=24)


def _notice_payload(window: MaintenanceWindow, kind: str) -> dict:
    services = list(window.services.all())
    return {
        "window_id": window.pk,
        "ref": window.ref,
        "kind": kind,
        "title": window.title,
        "public": window.public,
        "state": window.state,
        "scheduled_start": window.scheduled_start.isoformat(),
        "scheduled_end": window.scheduled_end.isoformat(),
        "owner_id": window.owner_id,
        "services": [
            {"id": s.pk, "slug": s.slug, "name": s.name, "owner_team_id": s.owner_team_id}
            for s in services
        ],
    }


def notify(window: MaintenanceWindow, kind: str, scheduled_for: datetime, *, now) -> bool:
    """Record the notice and publish it to the outbox, once per (window, kind, time).

    The unique row is inserted in a savepoint: a second beat run racing this one waits on the
    index, then fails the insert and sends nothing. Returns whether this call sent it.
    """
    try:
        with transaction.atomic():
            notice = MaintenanceNotice.objects.create(
                window=window, kind=kind, scheduled_for=scheduled_for, sent_at=now
            )
    except IntegrityError:
        return False
    outbox = events.publish(NOTICE_TOPIC, incident_id=None, payload=_notice_payload(window, kind))
    notice.outbox_event_id = outbox.pk
    notice.save(update_fields=["outbox_event_id"])
    window_event_append(
        window_id=window.pk,
        kind=WindowEventKind.NOTICE,
        body=f"{NoticeKind(kind).label} notice sent to the stakeholders of "
        f"{', '.join(s['name'] for s in outbox.payload['services'])}.",
        data={"notice_id": notice.pk, "kind": kind, "outbox_event_id": outbox.pk},
        now=now,
    )
    return True


def notices_send_due(*, now: datetime | None = None) -> int:
    """Send the 24 h notice of every window starting within a day (beat; safe to overlap).

    A window planned less than a day ahead gets its notice at the first run after planning.
    Start and end notices are sent by `window_start` / `window_complete` themselves.
    """
    now = now or timezone.now()
    due = MaintenanceWindow.objects.filter(
        state=WindowState.SCHEDULED,
        scheduled_start__gt=now,
        scheduled_start__lte=now + ADVANCE_NOTICE,
    ).exclude(
        # Already sent for this start time: skip without locking anything.
        Exists(
            MaintenanceNotice.objects.filter(
                window=OuterRef("pk"),
                kind=NoticeKind.ADVANCE,
                scheduled_for=OuterRef("scheduled_start"),
            )
        )
    )
    sent = 0
    for window in due.prefetch_related("services"):
        with transaction.atomic():
            if notify(window, NoticeKind.ADVANCE, window.scheduled_start, now=now):
                sent += 1
    return sent
