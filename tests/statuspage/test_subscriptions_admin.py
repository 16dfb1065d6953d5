"""The admins' subscribers page: who may see it, what it shows (masked), failures first,
"retry now", and a constant number of queries whatever the number of rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from statuspage.models import DeliveryState, SubscriberDelivery
from tests.statuspage.subscription_support import (
    Answer,
    Receiver,
    email_subscriber,
    webhook_subscriber,
)

pytestmark = pytest.mark.django_db

PAGE = "/status/admin/subscribers/"


@pytest.fixture(autouse=True)
def _inline(settings):
    settings.STATUSPAGE_DELIVER_INLINE = True


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def delivery(subscriber, state, *, key=None, error="") -> SubscriberDelivery:
    return SubscriberDelivery.objects.create(
        subscriber=subscriber,
        event_key=key or f"incident.public_update:{SubscriberDelivery.objects.count() + 1}",
        subject=f"[Ops Portal] Checkout errors: {state}",
        payload={"type": "incident.public_update", "page": {}, "incident": {}},
        state=state,
        attempts=5 if state == DeliveryState.DEAD else 1,
        last_error=error,
    )


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("anonymous", 302), ("viewer", 403), ("responder", 403), ("commander", 403), ("admin", 200)],
    indirect=["persona"],
)
def test_only_admins_see_the_subscribers_page(persona, expected):
    assert client_for(persona).get(PAGE).status_code == expected


@pytest.mark.parametrize(
    ("persona", "expected", "state"),
    [
        ("anonymous", 302, DeliveryState.DEAD),
        ("viewer", 403, DeliveryState.DEAD),
        ("responder", 403, DeliveryState.DEAD),
        ("commander", 403, DeliveryState.DEAD),
        ("admin", 302, DeliveryState.PENDING),
    ],
    indirect=["persona"],
)
def test_only_admins_may_retry_a_delivery(persona, expected, state):
    row = delivery(email_subscriber(), DeliveryState.DEAD, error="HTTP 410 Gone")

    response = client_for(persona).post(f"/status/admin/subscribers/deliveries/{row.pk}/retry/")

    assert response.status_code == expected
    row.refresh_from_db()
    assert row.state == state  # queued again only by an admin


def test_the_page_masks_addresses_and_webhook_paths_and_lists_failures_first(admin_user):
    reader = email_subscriber(email="alice.wonder@example.org")
    hook = webhook_subscriber("https://hooks.example.net/services/T000/B000/XXXXSECRET?token=abc")
    sent = delivery(reader, DeliveryState.SENT)
    dead = delivery(hook, DeliveryState.DEAD, error="HTTP 410 Gone")
    failed = delivery(reader, DeliveryState.FAILED, error="HTTP 503 Service Unavailable")

    response = client_for(admin_user).get(PAGE)

    html = response.content.decode()
    assert "a•••@example.org" in html
    assert "alice.wonder" not in html
    assert "https://hooks.example.net/…" in html
    assert "XXXXSECRET" not in html and "token=abc" not in html
    assert hook.secret not in html
    ids = [row.pk for row, *_shown in response.context["deliveries"]]
    assert ids == [dead.pk, failed.pk, sent.pk]
    assert "HTTP 410 Gone" in html
    assert html.count("Retry now") == 2


def test_retry_now_starts_a_fresh_series_and_sends(admin_user, django_capture_on_commit_callbacks):
    now = timezone.now()
    with Receiver([Answer(200)]) as receiver:
        hook = webhook_subscriber(receiver.url)
        row = delivery(hook, DeliveryState.DEAD, error="HTTP 503")
        row.next_attempt_at = now
        row.save()

        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(admin_user).post(
                f"/status/admin/subscribers/deliveries/{row.pk}/retry/", follow=True
            )
        assert len(receiver.received) == 1

    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_error) == (DeliveryState.SENT, 1, "")
    assert f"Delivery {row.pk} queued again." in response.content.decode()


def test_a_sent_delivery_cannot_be_retried(admin_user):
    row = delivery(email_subscriber(), DeliveryState.SENT)

    response = client_for(admin_user).post(
        f"/status/admin/subscribers/deliveries/{row.pk}/retry/", follow=True
    )

    assert "cannot be retried" in response.content.decode()
    row.refresh_from_db()
    assert row.state == DeliveryState.SENT


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(PAGE).status_code == 200
    return len(queries)


def test_the_page_costs_the_same_queries_with_3_or_60_subscribers(admin_user):
    client = client_for(admin_user)
    for _ in range(3):
        delivery(email_subscriber(), DeliveryState.FAILED)
    few = _queries(client)
    for _ in range(57):
        subscriber = email_subscriber()
        delivery(subscriber, DeliveryState.SENT)
        delivery(subscriber, DeliveryState.DEAD)

    assert _queries(client) == few
