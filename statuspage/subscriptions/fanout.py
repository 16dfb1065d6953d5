"""Fan a public event out to its subscribers: one SubscriberDelivery per (subscriber, event).

Two callers, same function, so either may run first, both may run, or one may crash:
- the after-commit hook (`wiring`) queues the fan-out of the event to a worker at once;
- the beat sweep re-reads the outbox of the last `SWEEP_LOOKBACK` and fans out whatever a hook
  missed (a process killed between commit and hook, a bug, a deploy).

"Once" is the unique (subscriber, event_key) constraint: rows are inserted with ON CONFLICT DO
NOTHING, so a second run, even concurrent, creates nothing. No cursor is kept: the rows are the
record of what was fanned out. Only subscribers confirmed (and not unsubscribed) when the event
happened receive it, so a subscriber confirmed later never gets an old update from the sweep.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from incidents.models import OutboxEvent

from ..models import DeliveryState, Subscriber, SubscriberDelivery
from . import delivery
from .public_events import TOPICS, PublicNotice, public_notice

logger = logging.getLogger(__name__)

# How far back the sweep looks for events not fanned out; older news is not worth sending.
SWEEP_LOOKBACK = timedelta(hours=24)


def _active_at(moment) -> Q:
    return Q(confirmed_at__isnull=False, confirmed_at__lte=moment, unsubscribed_at__isnull=True)


def matching_subscribers(notice: PublicNotice) -> QuerySet[Subscriber]:
    """Active subscribers of all components, or of one the notice concerns."""
    subscribers = Subscriber.objects.filter(_active_at(notice.occurred_at))
    if notice.component_ids:
        chosen = Subscriber.components.through.objects.filter(subscriber_id=OuterRef("pk"))
        subscribers = subscribers.filter(
            ~Exists(chosen) | Exists(chosen.filter(service_id__in=notice.component_ids))
        )
    # A page-wide notice (no component) goes to everyone, as Statuspage does.
    return subscribers


def notice_fan_out(notice: PublicNotice, *, now: datetime | None = None) -> list[int]:
    """Create the missing deliveries of `notice`; return their ids (queued on commit)."""
    now = now or timezone.now()
    with transaction.atomic():
        already = SubscriberDelivery.objects.filter(
            subscriber_id=OuterRef("pk"), event_key=notice.event_key
        )
        subscriber_ids = list(
            matching_subscribers(notice).filter(~Exists(already)).values_list("pk", flat=True)
        )
        if not subscriber_ids:
            return []
        SubscriberDelivery.objects.bulk_create(
            [
                SubscriberDelivery(
                    subscriber_id=subscriber_id,
                    event_key=notice.event_key,
                    subject=notice.subject[:300],
                    payload=notice.payload,
                    next_attempt_at=now,
                    created_at=now,
                )
                for subscriber_id in subscriber_ids
            ],
            # A concurrent run inserted some first: theirs stand, ours are skipped.
            ignore_conflicts=True,
        )
        created = list(
            SubscriberDelivery.objects.filter(
                event_key=notice.event_key,
                subscriber_id__in=subscriber_ids,
                state=DeliveryState.PENDING,
                attempts=0,
            ).values_list("pk", flat=True)
        )
        delivery.enqueue_on_commit(created, now=now)
    return created


def outbox_event_fan_out(event: OutboxEvent, *, now: datetime | None = None) -> int:
    """Fan out one outbox event if it is public news; the number of deliveries created."""
    notice = public_notice(event)
    if notice is None:
        return 0
    return len(notice_fan_out(notice, now=now))


def on_public_event(event: OutboxEvent) -> None:
    """The after-commit hook (incidents.events): hand the fan-out to a worker.

    Not done here: this runs in the request that posted the update, and thousands of
    subscribers mean thousands of rows and task messages. A failed send is left to the sweep.
    """
    if not Subscriber.objects.filter(_active_at(event.created_at)).exists():
        return  # nobody to tell (exact: only subscribers confirmed before the event count)
    if settings.STATUSPAGE_DELIVER_INLINE:
        outbox_event_fan_out(event)
        return
    from .tasks import fan_out

    try:
        fan_out.apply_async((event.pk,), queue=settings.CELERY_TASK_DEFAULT_QUEUE)
    except Exception as exc:  # broker down: the sweep fans it out
        logger.warning("could not enqueue the fan-out of outbox event %s: %r", event.pk, exc)


def fan_out_sweep(*, now: datetime | None = None) -> int:
    """Fan out recent public events some eligible subscriber has no delivery for (beat).

    One query finds them; an event stays a candidate while a subscriber filtered to other
    components lacks a row, which costs rebuilding its notice (a few queries) until it ages out.
    """
    now = now or timezone.now()
    key = Concat(F("topic"), Value(":"), Cast("id", CharField()), output_field=CharField())
    missing = Subscriber.objects.filter(_active_at(OuterRef("created_at"))).filter(
        ~Exists(
            SubscriberDelivery.objects.filter(
                subscriber_id=OuterRef("pk"), event_key=OuterRef(OuterRef("key"))
            )
        )
    )
    events = (
        OutboxEvent.objects.filter(topic__in=TOPICS, created_at__gte=now - SWEEP_LOOKBACK)
        .annotate(key=key)
        .filter(Exists(missing))
        .order_by("created_at", "id")
    )
    created = 0
    for event in events:
        try:
            created += outbox_event_fan_out(event, now=now)
        except Exception:  # one broken event must not hold back the others
            logger.exception("fan-out of outbox event %s failed", event.pk)
    return created
