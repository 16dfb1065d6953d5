"""End to end with a real Celery worker on Redis: a public update posted in one process reaches a
webhook receiver through the worker (hook → fan-out task → delivery task), and with the broker
the hook's message lost the beat sweep delivers it later, once."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from ops_portal.celery import app
from statuspage.models import DeliveryState, SubscriberDelivery
from tests.statuspage.incident_support import declare, publish
from tests.statuspage.subscription_support import Receiver, webhook_subscriber
from tests.workers import celery_worker

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def wait_until(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_a_posted_update_reaches_a_webhook_through_the_worker(settings):
    with Receiver() as hook, celery_worker("subscriptions") as worker:
        settings.CELERY_TASK_DEFAULT_QUEUE = worker.queue
        webhook_subscriber(hook.url)

        publish(declare(public_title="Checkout errors"), "We are looking into it.")

        assert wait_until(lambda: len(hook.received) == 1)
        assert wait_until(
            lambda: SubscriberDelivery.objects.filter(state=DeliveryState.SENT).count() == 1
        )
        body = json.loads(hook.received[0].body)
    assert body["incident"]["name"] == "Checkout errors"
    assert hook.received[0].headers["x-opsportal-delivery"] == body["meta"]["delivery_id"]


def test_a_lost_fan_out_message_is_delivered_later_by_the_sweep_once(settings):
    lost = f"nobody-listens-{uuid.uuid4().hex[:8]}"
    with Receiver() as hook:
        webhook_subscriber(hook.url)
        settings.CELERY_TASK_DEFAULT_QUEUE = lost  # the hook's message goes where no one reads
        publish(declare(), "We are looking into it.")
        assert not SubscriberDelivery.objects.exists()

        with celery_worker("subscriptions-sweep") as worker:
            settings.CELERY_TASK_DEFAULT_QUEUE = worker.queue
            for _ in range(2):
                app.send_task("statuspage.subscriptions_sweep", queue=worker.queue)
            assert wait_until(lambda: len(hook.received) == 1)
            assert wait_until(
                lambda: SubscriberDelivery.objects.filter(state=DeliveryState.SENT).count() == 1
            )
        assert len(hook.received) == 1
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge(lost)
