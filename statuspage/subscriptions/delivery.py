"""Deliver SubscriberDelivery rows: claim, send, record the outcome; retry, give up, recover.

States: pending → sending → sent; a transient failure → failed (retried after a backoff), a
permanent one or the fifth failure → dead. The deadline of a retry is the row's
`next_attempt_at`, read by the beat sweep (never a long Celery countdown: Redis would redeliver
it). A claim is one conditional UPDATE, so two workers handed the same id send once.

While `sending`, `next_attempt_at` holds the claim time: a row still sending `STUCK_AFTER`
later lost its worker and goes back to failed. That attempt may have reached the receiver, so in
that rare case a message can arrive twice; receivers dedupe on the delivery id (the
`X-OpsPortal-Delivery` header, `meta.delivery_id`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from ..models import DeliveryState, Subscriber, SubscriberDelivery, SubscriberKind
from .tokens import unsubscribe_token

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# Wait after the 1st, 2nd, 3rd and 4th failed attempt; the 5th failure gives up.
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
)
# Longer than any send can take (webhook timeout, SMTP timeout) and the task's hard time limit.
STUCK_AFTER = timedelta(seconds=max(settings.CELERY_TASK_TIME_LIMIT, 300) + 60)
# A receiver asking for more than this (Retry-After) is retried after this.
MAX_RETRY_AFTER = timedelta(hours=6)
SWEEP_BATCH = 500
RETRYABLE = (DeliveryState.PENDING, DeliveryState.FAILED)


class DeliveryError(Exception):
    """A send failed; `permanent` ones are not retried, `retry_after` is the receiver's wish."""

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: timedelta | None = None
    ):
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


def unsubscribe_url(subscriber_id: int) -> str:
    path = reverse("statuspage:unsubscribe", args=[unsubscribe_token(subscriber_id)])
    return settings.PUBLIC_BASE_URL + path


# --- queueing ---------------------------------------------------------------------------------


def enqueue(delivery_id: int, *, now: datetime | None = None) -> None:
    """Hand one delivery to a worker; a failed send is left to the sweep, never raised.

    `now` only matters inline (tests): a worker reads its own clock.
    """
    if settings.STATUSPAGE_DELIVER_INLINE:
        delivery_attempt(delivery_id, now=now)
        return
    from .tasks import deliver

    try:
        # The default worker's queue, named at send time (tests point it at their own worker).
        deliver.apply_async((delivery_id,), queue=settings.CELERY_TASK_DEFAULT_QUEUE)
    except Exception as exc:  # broker down: the sweep sends it when it is due
        logger.warning("could not enqueue subscriber delivery %s: %r", delivery_id, exc)


def enqueue_on_commit(delivery_ids: Iterable[int], *, now: datetime | None = None) -> None:
    ids = list(delivery_ids)
    if ids:
        transaction.on_commit(lambda: [enqueue(delivery_id, now=now) for delivery_id in ids])


# --- one attempt ------------------------------------------------------------------------------


def delivery_attempt(delivery_id: int, *, now: datetime | None = None) -> str | None:
    """Claim a due delivery and send it; the state it ends in, or None if it was not ours."""
    now = now or timezone.now()
    claimed = SubscriberDelivery.objects.filter(
        pk=delivery_id, state__in=RETRYABLE, next_attempt_at__lte=now
    ).update(state=DeliveryState.SENDING, attempts=F("attempts") + 1, next_attempt_at=now)
    if not claimed:
        return None
    row = SubscriberDelivery.objects.select_related("subscriber").get(pk=delivery_id)
    subscriber = row.subscriber
    if not subscriber.active:
        return _finish(row, DeliveryState.DEAD, now=now, error="the subscription was cancelled")
    try:
        _send(row, subscriber, now=now)
    except DeliveryError as exc:
        return _failed(row, exc, now=now)
    except Exception as exc:  # a bug must not leave the row in `sending` until the stuck sweep
        logger.exception("subscriber delivery %s crashed", row.pk)
        return _failed(row, DeliveryError(f"internal error: {type(exc).__name__}"), now=now)
    return _finish(row, DeliveryState.SENT, now=now, sent_at=now)


def _send(row: SubscriberDelivery, subscriber: Subscriber, *, now: datetime) -> None:
    from . import mail, webhook

    meta = {
        "delivery_id": str(row.pk),
        "event_key": row.event_key,
        "unsubscribe": unsubscribe_url(subscriber.pk),
        "generated_at": now.isoformat(),
    }
    if subscriber.kind == SubscriberKind.EMAIL:
        mail.send_notice(row, subscriber, meta=meta)
    elif subscriber.kind == SubscriberKind.WEBHOOK:
        webhook.send_notice(row, subscriber, meta=meta, now=now)
    else:
        raise DeliveryError(f"unknown subscriber kind {subscriber.kind!r}", permanent=True)


def _failed(row: SubscriberDelivery, exc: DeliveryError, *, now: datetime) -> str | None:
    error = str(exc)[:2000]
    if exc.permanent:
        return _finish(row, DeliveryState.DEAD, now=now, error=error)
    if row.attempts >= MAX_ATTEMPTS:
        return _finish(
            row,
            DeliveryState.DEAD,
            now=now,
            error=f"gave up after {row.attempts} attempts: {error}",
        )
    wait = BACKOFF[min(row.attempts, len(BACKOFF)) - 1]
    if exc.retry_after is not None:
        wait = max(wait, min(exc.retry_after, MAX_RETRY_AFTER))
    return _finish(row, DeliveryState.FAILED, now=now, error=error, next_attempt_at=now + wait)


def _finish(row: SubscriberDelivery, state: str, *, now: datetime, error: str = "", **fields):
    """Record the outcome unless the row was taken from us meanwhile (the attempt number fences:
    a stuck row released and claimed again has a higher one)."""
    updated = SubscriberDelivery.objects.filter(
        pk=row.pk, state=DeliveryState.SENDING, attempts=row.attempts
    ).update(state=state, last_error=error, **fields)
    return state if updated else None


# --- sweeps and admin actions -----------------------------------------------------------------


def stuck_deliveries_release(*, now: datetime | None = None) -> int:
    """Rows left `sending` by a dead worker: retry them, or give up after the last attempt."""
    now = now or timezone.now()
    stuck = SubscriberDelivery.objects.filter(
        state=DeliveryState.SENDING, next_attempt_at__lt=now - STUCK_AFTER
    )
    gave_up = stuck.filter(attempts__gte=MAX_ATTEMPTS).update(
        state=DeliveryState.DEAD,
        last_error="the worker was lost while sending the last attempt; it may have arrived",
    )
    retried = stuck.filter(attempts__lt=MAX_ATTEMPTS).update(
        state=DeliveryState.FAILED,
        next_attempt_at=now,
        last_error="the worker was lost while sending; retrying (receivers dedupe on the id)",
    )
    return gave_up + retried


def deliveries_sweep(*, now: datetime | None = None) -> int:
    """Release stuck rows and hand every due one to a worker (beat); the number queued."""
    now = now or timezone.now()
    stuck_deliveries_release(now=now)
    due = list(
        SubscriberDelivery.objects.filter(state__in=RETRYABLE, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for delivery_id in due:
        enqueue(delivery_id, now=now)
    return len(due)


def delivery_retry_now(*, delivery_id: int, now: datetime | None = None) -> bool:
    """An admin's "retry now" on a failed or dead delivery: a fresh series of attempts."""
    now = now or timezone.now()
    with transaction.atomic():
        updated = SubscriberDelivery.objects.filter(
            pk=delivery_id,
            state__in=(DeliveryState.FAILED, DeliveryState.DEAD),
            subscriber__confirmed_at__isnull=False,
            subscriber__unsubscribed_at__isnull=True,
        ).update(state=DeliveryState.PENDING, attempts=0, next_attempt_at=now)
        if updated:
            enqueue_on_commit([delivery_id], now=now)
    return bool(updated)
