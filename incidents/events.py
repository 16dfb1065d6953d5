"""Explicit domain events: other apps subscribe to incident events without the core importing them.

`publish` records an OutboxEvent row in the caller's transaction (nothing is lost if a broker is
down; the notifications app delivers from the outbox) and calls in-process subscribers after
commit (e.g. runbooks starting probes when an incident is declared).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable

from django.db import transaction

from .models import OutboxEvent

logger = logging.getLogger(__name__)

_subscribers: dict[str, list[Callable[..., None]]] = defaultdict(list)

TOPICS = {
    "incident.declared",
    "incident.status_changed",
    "incident.severity_changed",
    "incident.public_update",
    "incident.escalated",
    "incident.resolved",
    # A post-resolution watch found the problem back and reopened the incident; notifications
    # tell the commander (payload: ref, commander_id, reason).
    "incident.regressed",
    # A remediation workflow finished and stakeholders should hear of it (payload: ref, action,
    # target, summary).
    "incident.remediation",
}


def register_topic(topic: str) -> None:
    """Let another app publish to the outbox under its own topic (from its AppConfig.ready),
    e.g. maintenance notices, without the core knowing that app."""
    TOPICS.add(topic)


def subscribe(topic: str, handler: Callable[..., None]) -> None:
    """Call `handler(event)` after commit for every event of `topic` (from AppConfig.ready)."""
    if topic not in TOPICS:
        raise ValueError(f"unknown topic {topic!r}")
    if handler not in _subscribers[topic]:
        _subscribers[topic].append(handler)


def publish(topic: str, *, incident_id: int | None, payload: dict) -> OutboxEvent:
    if topic not in TOPICS:
        raise ValueError(f"unknown topic {topic!r}")
    event = OutboxEvent.objects.create(topic=topic, incident_id=incident_id, payload=payload)
    handlers = list(_subscribers.get(topic, ()))
    if handlers:
        transaction.on_commit(lambda: _dispatch(handlers, event))
    return event


def _dispatch(handlers, event: OutboxEvent) -> None:
    for handler in handlers:
        try:
            handler(event)
        except Exception:  # one subscriber's bug must not break the others or the request
            logger.exception("subscriber %r failed for %s", handler, event.topic)
