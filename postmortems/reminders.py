"""Reminders to owners: a postmortem due within POSTMORTEM_DUE_SOON_HOURS, an overdue
postmortem, an overdue action item — each once per threshold.

A reminder is a Reminder row unique on (kind, subject, the deadline it is about) plus an outbox
event `postmortem.reminder` in the same transaction (the notifications app delivers it). Two
overlapping beat runs race on the unique row; the loser's insert fails and it sends nothing. A
deadline that moves gets its own reminder.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from incidents import events

from .models import ActionItem, Postmortem, Reminder, ReminderKind

REMINDER_TOPIC = "postmortem.reminder"


def _send(*, kind: str, deadline: datetime, recipient, payload: dict, **subject) -> bool:
    try:
        with transaction.atomic():
            reminder = Reminder.objects.create(
                kind=kind, deadline=deadline, recipient=recipient, **subject
            )
            outbox = events.publish(
                REMINDER_TOPIC,
                incident_id=payload.get("incident_id"),
                payload={"kind": kind, "deadline": deadline.isoformat(), **payload},
            )
            reminder.outbox_event_id = outbox.pk
            reminder.save(update_fields=["outbox_event_id"])
    except IntegrityError:
        return False
    return True


def _already(kind: str, field: str, deadline_ref):
    return Exists(
        Reminder.objects.filter(kind=kind, **{field: OuterRef("pk")}, deadline=deadline_ref)
    )


def _postmortem_payload(postmortem: Postmortem) -> dict:
    return {
        "postmortem_id": postmortem.pk,
        "incident_id": postmortem.incident_id,
        "ref": postmortem.incident.ref,
        "title": postmortem.incident.title,
        "owner_id": postmortem.owner_id,
        "due_at": postmortem.due_at.isoformat(),
    }


def _end_of_day(day) -> datetime:
    """An action item is overdue once its due date has passed (in the portal's time zone)."""
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def reminders_send_due(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    sent = {kind.value: 0 for kind in ReminderKind}
    unpublished = Postmortem.objects.filter(
        required=True, first_published_at__isnull=True
    ).select_related("incident")
    soon = unpublished.filter(
        due_at__gt=now, due_at__lte=now + timedelta(hours=settings.POSTMORTEM_DUE_SOON_HOURS)
    ).exclude(_already(ReminderKind.POSTMORTEM_DUE_SOON, "postmortem", OuterRef("due_at")))
    overdue = unpublished.filter(due_at__lte=now).exclude(
        _already(ReminderKind.POSTMORTEM_OVERDUE, "postmortem", OuterRef("due_at"))
    )
    for kind, query in (
        (ReminderKind.POSTMORTEM_DUE_SOON, soon),
        (ReminderKind.POSTMORTEM_OVERDUE, overdue),
    ):
        for postmortem in query:
            if _send(
                kind=kind,
                deadline=postmortem.due_at,
                recipient=postmortem.owner,
                payload=_postmortem_payload(postmortem),
                postmortem=postmortem,
            ):
                sent[kind] += 1

    today = timezone.localdate(now)
    items = (
        ActionItem.objects.overdue(today)
        .select_related("postmortem__incident", "owner")
        .order_by("due_date", "id")
    )
    for item in items:
        deadline = _end_of_day(item.due_date)
        if Reminder.objects.filter(
            kind=ReminderKind.ACTION_OVERDUE, action_item=item, deadline=deadline
        ).exists():
            continue
        if _send(
            kind=ReminderKind.ACTION_OVERDUE,
            deadline=deadline,
            recipient=item.owner or item.postmortem.owner,
            payload={
                **_postmortem_payload(item.postmortem),
                "action_item_id": item.pk,
                "action_item": item.title,
                "owner_id": item.owner_id or item.postmortem.owner_id,
                "due_date": item.due_date.isoformat(),
            },
            action_item=item,
        ):
            sent[ReminderKind.ACTION_OVERDUE] += 1
    return sent
