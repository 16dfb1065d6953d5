"""Celery tasks of subscriptions: thin wrappers over `delivery` and `fanout`, taking ids.

Imported by `wiring` (from AppConfig.ready) so the worker registers them: Celery's
autodiscovery only looks for `statuspage.tasks`.
"""

from __future__ import annotations

from celery import shared_task

from incidents.models import OutboxEvent

from . import delivery, fanout


@shared_task(name="statuspage.subscriber_deliver")
def deliver(delivery_id: int) -> str | None:
    """Send one delivery if it is still due and unclaimed (a duplicate message does nothing)."""
    return delivery.delivery_attempt(delivery_id)


@shared_task(name="statuspage.subscriptions_fan_out")
def fan_out(outbox_event_id: int) -> int:
    """Create the deliveries of one public event (queued by the after-commit hook)."""
    event = OutboxEvent.objects.filter(pk=outbox_event_id).first()
    return fanout.outbox_event_fan_out(event) if event is not None else 0


@shared_task(name="statuspage.subscriptions_sweep")
def sweep() -> dict:
    """Fan out public events a hook missed, release stuck rows, queue due deliveries (beat)."""
    return {"fanned_out": fanout.fan_out_sweep(), "queued": delivery.deliveries_sweep()}
