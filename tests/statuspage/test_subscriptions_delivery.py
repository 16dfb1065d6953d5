"""Delivering to subscribers: signed webhook POSTs to a real server on 127.0.0.1, retries with
backoff, giving up, stuck rows, and the SSRF guard in production. Time is passed as `now`."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from statuspage.models import DeliveryState, Subscriber, SubscriberDelivery
from statuspage.subscriptions import delivery as delivery_module
from statuspage.subscriptions import webhook
from statuspage.subscriptions.delivery import (
    BACKOFF,
    STUCK_AFTER,
    deliveries_sweep,
    delivery_attempt,
    stuck_deliveries_release,
)
from statuspage.subscriptions.fanout import fan_out_sweep
from tests.diagnostics.peers.http_peers import closed_port
from tests.statuspage.incident_support import declare, publish
from tests.statuspage.subscription_support import (
    Answer,
    Receiver,
    email_subscriber,
    visitor,
    webhook_subscriber,
)

pytestmark = pytest.mark.django_db

SECRET = "s3cret-for-tests"


@pytest.fixture(autouse=True)
def _inline(settings):
    settings.STATUSPAGE_DELIVER_INLINE = True


@pytest.fixture
def production(settings):
    settings.DJANGO_ENV = "production"
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    return settings


def pending_for(subscriber: Subscriber, now) -> SubscriberDelivery:
    """A public update fanned out at `now` (its delivery not sent: no commit in this test)."""
    publish(declare(public_title="Checkout errors"), "We are looking into it.")
    fan_out_sweep(now=now)
    return subscriber.deliveries.get()


def state_of(delivery: SubscriberDelivery) -> SubscriberDelivery:
    delivery.refresh_from_db()
    return delivery


def test_a_webhook_delivery_is_signed_and_names_its_delivery_id():
    now = timezone.now()
    with Receiver() as hook:
        subscriber = webhook_subscriber(hook.url, secret=SECRET)
        delivery = pending_for(subscriber, now)

        assert delivery_attempt(delivery.pk, now=now) == DeliveryState.SENT
        [received] = hook.received

    headers = received.headers
    timestamp, signature = (
        part.split("=", 1)[1] for part in headers["x-opsportal-signature"].split(",")
    )
    expected = hmac.new(
        SECRET.encode(), f"{timestamp}.".encode() + received.body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(signature, expected)
    assert int(timestamp) == int(now.timestamp())
    assert headers["x-opsportal-delivery"] == str(delivery.pk)
    assert headers["content-type"] == "application/json"
    assert received.path == "/hooks/status"
    body = json.loads(received.body)
    assert body["meta"]["delivery_id"] == str(delivery.pk)
    assert body["incident"]["name"] == "Checkout errors"
    assert body["incident"]["incident_update"]["body"] == "We are looking into it."
    # The unsubscribe link in the payload works, once, with no cookie.
    unsubscribe = body["meta"]["unsubscribe"].split("://", 1)[1].split("/", 1)[1]
    assert visitor().post("/" + unsubscribe).status_code == 200
    assert Subscriber.objects.get(pk=subscriber.pk).unsubscribed_at is not None
    delivery = state_of(delivery)
    assert (delivery.state, delivery.attempts, delivery.sent_at) == ("sent", 1, now)


def test_a_500_is_retried_after_the_backoff_then_sent():
    now = timezone.now()
    with Receiver([Answer(500), Answer(200)]) as hook:
        delivery = pending_for(webhook_subscriber(hook.url), now)

        assert delivery_attempt(delivery.pk, now=now) == DeliveryState.FAILED
        failed = state_of(delivery)
        assert failed.next_attempt_at == now + BACKOFF[0]
        assert failed.last_error.startswith("HTTP 500")
        assert delivery_attempt(delivery.pk, now=now + timedelta(seconds=30)) is None  # not due
        assert deliveries_sweep(now=now + timedelta(seconds=59)) == 0
        assert deliveries_sweep(now=now + BACKOFF[0]) == 1  # due: queued, sent inline
        ids = [r.headers["x-opsportal-delivery"] for r in hook.received]

    sent = state_of(delivery)
    assert (sent.state, sent.attempts) == (DeliveryState.SENT, 2)
    assert ids == [str(delivery.pk)] * 2


def test_backoff_grows_then_the_fifth_failure_gives_up():
    now = timezone.now()
    with Receiver([Answer(503)]) as hook:
        delivery = pending_for(webhook_subscriber(hook.url), now)
        waits = []
        moment = now
        for _ in range(5):
            delivery_attempt(delivery.pk, now=moment)
            row = state_of(delivery)
            if row.state == DeliveryState.FAILED:
                waits.append(row.next_attempt_at - moment)
                moment = row.next_attempt_at

    assert waits == list(BACKOFF)
    assert row.state == DeliveryState.DEAD
    assert row.attempts == 5
    assert row.last_error.startswith("gave up after 5 attempts: HTTP 503")
    assert len(hook.received) == 5


@pytest.mark.parametrize("status", [400, 404, 410, 422])
def test_a_client_error_is_dead_at_once(status):
    now = timezone.now()
    with Receiver([Answer(status)]) as hook:
        delivery = pending_for(webhook_subscriber(hook.url), now)
        assert delivery_attempt(delivery.pk, now=now) == DeliveryState.DEAD
        assert deliveries_sweep(now=now + timedelta(days=1)) == 0
        assert len(hook.received) == 1

    assert state_of(delivery).last_error.startswith(f"HTTP {status}")


def test_a_redirect_is_not_followed():
    now = timezone.now()
    with Receiver([Answer(302, {"Location": "http://127.0.0.1:9/elsewhere"})]) as hook:
        delivery = pending_for(webhook_subscriber(hook.url), now)
        assert delivery_attempt(delivery.pk, now=now) == DeliveryState.DEAD
        assert len(hook.received) == 1

    assert "redirects are not followed" in state_of(delivery).last_error


@pytest.mark.parametrize("status", [408, 429])
def test_408_and_429_are_retried(status):
    now = timezone.now()
    with Receiver([Answer(status)]) as hook:
        delivery = pending_for(webhook_subscriber(hook.url), now)
        assert delivery_attempt(delivery.pk, now=now) == DeliveryState.FAILED


def test_a_429_retry_after_is_honoured():
    now = timezone.now()
    with Receiver([Answer(429, {"Retry-After": "600"})]) as hook:
        delivery = pending_for(webhook_subscriber(hook.url), now)
        delivery_attempt(delivery.pk, now=now)

    assert state_of(delivery).next_attempt_at == now + timedelta(seconds=600)


def test_a_timeout_is_a_failure_to_retry(monkeypatch):
    monkeypatch.setattr(webhook, "TIMEOUT_S", 0.3)
    now = timezone.now()
    with Receiver([Answer(200, delay_s=3)]) as hook:
        delivery = pending_for(webhook_subscriber(hook.url), now)
        assert delivery_attempt(delivery.pk, now=now) == DeliveryState.FAILED

    row = state_of(delivery)
    assert "timed out" in row.last_error
    assert row.next_attempt_at == now + BACKOFF[0]


def test_a_refused_connection_is_a_failure_to_retry():
    now = timezone.now()
    with closed_port() as port:
        delivery = pending_for(webhook_subscriber(f"http://127.0.0.1:{port}/hook"), now)
        assert delivery_attempt(delivery.pk, now=now) == DeliveryState.FAILED


def test_a_delivery_claimed_twice_is_sent_once():
    now = timezone.now()
    with Receiver() as hook:
        delivery = pending_for(webhook_subscriber(hook.url), now)
        results = [delivery_attempt(delivery.pk, now=now) for _ in range(2)]

    assert results == [DeliveryState.SENT, None]
    assert len(hook.received) == 1


def test_a_row_left_sending_by_a_dead_worker_is_retried_later():
    now = timezone.now()
    with Receiver() as hook:
        delivery = pending_for(webhook_subscriber(hook.url), now)
        SubscriberDelivery.objects.filter(pk=delivery.pk).update(
            state=DeliveryState.SENDING, attempts=1, next_attempt_at=now
        )
        assert stuck_deliveries_release(now=now + STUCK_AFTER - timedelta(seconds=1)) == 0
        assert stuck_deliveries_release(now=now + STUCK_AFTER + timedelta(seconds=1)) == 1
        released = state_of(delivery)
        assert released.state == DeliveryState.FAILED
        assert "worker was lost" in released.last_error
        assert delivery_attempt(delivery.pk, now=now + STUCK_AFTER * 2) == DeliveryState.SENT

    assert state_of(delivery).attempts == 2


def test_a_late_outcome_of_a_released_attempt_does_not_overwrite_the_retry():
    """The attempt number fences: the lost worker's late answer is dropped."""
    now = timezone.now()
    row = pending_for(email_subscriber(), now)
    stale = SubscriberDelivery(pk=row.pk, attempts=1)  # what the lost worker still holds
    SubscriberDelivery.objects.filter(pk=row.pk).update(state=DeliveryState.SENDING, attempts=2)

    assert delivery_module._finish(stale, DeliveryState.FAILED, now=now, error="late") is None
    assert state_of(row).state == DeliveryState.SENDING


def test_a_delivery_to_someone_who_unsubscribed_meanwhile_is_dropped(mailoutbox):
    now = timezone.now()
    reader = email_subscriber()
    delivery = pending_for(reader, now)
    Subscriber.objects.filter(pk=reader.pk).update(unsubscribed_at=now)

    assert delivery_attempt(delivery.pk, now=now) == DeliveryState.DEAD
    assert mailoutbox == []


def test_an_email_delivery_has_text_html_and_the_unsubscribe_header(mailoutbox):
    now = timezone.now()
    reader = email_subscriber()
    delivery = pending_for(reader, now)

    assert delivery_attempt(delivery.pk, now=now) == DeliveryState.SENT

    [message] = mailoutbox
    assert message.to == [reader.email]
    assert message.subject == delivery.subject
    assert [mime for _content, mime in message.alternatives] == ["text/html"]
    assert message.extra_headers["X-OpsPortal-Delivery"] == str(delivery.pk)
    assert "/status/unsubscribe/" in message.extra_headers["List-Unsubscribe"]


# --- the SSRF guard in production -----------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://127.0.0.1/hook", "must be an http(s) address on the public internet"),
        ("https://10.0.0.1/hook", "must be an http(s) address on the public internet"),
        ("https://169.254.169.254/latest/meta-data/", "on the public internet"),
        ("https://[::1]/hook", "on the public internet"),
        ("https://user:pw@93.184.215.14/hook", "without a user name or password"),
        ("http://93.184.215.14/hook", "Webhook URLs must use https."),
    ],
)
def test_production_refuses_webhooks_to_internal_addresses_or_plain_http(production, url, message):
    response = visitor().post("/status/subscribe/", {"kind": "webhook", "url": url})

    assert response.status_code == 400
    assert message in response.context["form"].errors["url"][0]
    # The refusal tells a stranger nothing about our network or settings.
    assert "OUTBOUND_ALLOWED_NETWORKS" not in response.content.decode()
    assert not Subscriber.objects.exists()


def test_production_accepts_a_public_https_webhook(production):
    response = visitor().post(
        "/status/subscribe/", {"kind": "webhook", "url": "https://93.184.215.14/hook"}
    )

    assert response.status_code == 201
    assert Subscriber.objects.get().url == "https://93.184.215.14/hook"


def test_development_accepts_http_and_loopback_but_never_metadata():
    client = visitor()
    with Receiver() as hook:
        accepted = client.post("/status/subscribe/", {"kind": "webhook", "url": hook.url})
    metadata = client.post(
        "/status/subscribe/", {"kind": "webhook", "url": "http://169.254.169.254/latest/"}
    )

    assert accepted.status_code == 201
    assert metadata.status_code == 400


def test_production_never_delivers_to_a_loopback_webhook_subscribed_earlier(production):
    now = timezone.now()
    with Receiver() as hook:
        delivery = pending_for(webhook_subscriber(hook.url.replace("http:", "https:")), now)
        assert delivery_attempt(delivery.pk, now=now) == DeliveryState.DEAD
        assert hook.received == []

    assert "loopback" in state_of(delivery).last_error
