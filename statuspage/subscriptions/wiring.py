"""Connect subscriptions to the incidents event hub (called once from AppConfig.ready).

Public incident updates and maintenance notices reach subscribers through `events.subscribe`
(after commit); the beat sweep `statuspage.subscriptions_sweep` (ops_portal/celery.py) catches
whatever the hook missed.
"""

from __future__ import annotations


def connect() -> None:
    from incidents import events

    from . import fanout, tasks  # noqa: F401 (tasks: registers the Celery tasks)
    from .public_events import TOPICS

    for topic in TOPICS:
        # Maintenance registers its topic in its own ready(); registering is idempotent, and
        # doing it here too keeps us independent of the apps' order.
        events.register_topic(topic)
        events.subscribe(topic, fanout.on_public_event)
