"""Subscribing from the public page: double opt-in by email, webhooks, confirm, unsubscribe,
the answers a stranger gets, and the per-IP limit. Emails go to Django's locmem outbox; the
mails are sent on commit, so requests run inside `django_capture_on_commit_callbacks`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from statuspage.models import DeliveryState, Subscriber, SubscriberDelivery, SubscriberKind
from statuspage.subscriptions import throttle
from statuspage.subscriptions.fanout import fan_out_sweep
from statuspage.subscriptions.tokens import confirm_token, unsubscribe_token
from statuspage.subscriptions.views import client_ip
from tests.factories import ServiceFactory
from tests.statuspage.incident_support import declare, publish
from tests.statuspage.subscription_support import (
    Receiver,
    email_subscriber,
    fresh_address,
    html_part,
    links_in,
    path_of,
    visitor,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _inline(settings):
    settings.STATUSPAGE_DELIVER_INLINE = True


def subscribe_email(client, capture, address, **extra):
    with capture(execute=True):
        return client.post("/status/subscribe/", {"kind": "email", "email": address, **extra})


def test_subscribe_page_works_without_javascript_and_lists_only_public_components():
    ServiceFactory(name="Checkout API", show_on_status_page=True)
    ServiceFactory(name="Fraud scoring internals", show_on_status_page=False)

    response = visitor().get("/status/subscribe/")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'type="radio" name="kind" value="email" checked' in html
    assert 'type="radio" name="kind" value="webhook"' in html
    assert "Checkout API" in html
    assert "Fraud scoring internals" not in html
    assert "<script" not in html
    assert response["Cache-Control"].startswith("max-age=0")


def test_the_public_page_links_to_subscribe():
    html = visitor().get("/status/").content.decode()

    assert 'href="/status/subscribe/"' in html
    assert "Subscribe to updates" in html


def test_email_subscription_sends_only_the_confirmation_link_until_confirmed(
    mailoutbox, django_capture_on_commit_callbacks
):
    address = fresh_address()

    response = subscribe_email(visitor(), django_capture_on_commit_callbacks, address)

    assert response.status_code == 302
    assert response["Location"] == "/status/subscribe/sent/"
    subscriber = Subscriber.objects.get(email=address)
    assert subscriber.confirmed_at is None
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == [address]
    assert message.from_email == "status@localhost"
    assert message.subject.endswith("Confirm your subscription")
    [link] = links_in(message)
    assert "/status/subscribe/confirm/" in link
    assert link in html_part(message)
    # An update before confirmation reaches nobody.
    with django_capture_on_commit_callbacks(execute=True):
        publish(declare(), "We are looking into it.")
    assert fan_out_sweep() == 0
    assert not SubscriberDelivery.objects.exists()
    assert len(mailoutbox) == 1


def test_confirm_link_asks_for_a_click_then_confirms_once(
    mailoutbox, django_capture_on_commit_callbacks
):
    address = fresh_address()
    client = visitor()
    subscribe_email(client, django_capture_on_commit_callbacks, address)
    confirm_path = path_of(links_in(mailoutbox[0])[0])

    page = client.get(confirm_path)
    assert page.status_code == 200
    assert "Confirm subscription" in page.content.decode()
    assert Subscriber.objects.get(email=address).confirmed_at is None  # a scanner's GET: nothing

    first = client.post(confirm_path)
    confirmed_at = Subscriber.objects.get(email=address).confirmed_at
    second = client.post(confirm_path)

    assert first.status_code == second.status_code == 200
    assert "You are subscribed" in first.content.decode()
    assert confirmed_at is not None
    assert Subscriber.objects.get(email=address).confirmed_at == confirmed_at


@pytest.mark.parametrize("case", ["tampered", "expired", "unsubscribe token", "garbage"])
def test_a_bad_confirm_link_answers_400(case):
    subscriber = email_subscriber(confirmed=False)
    token = {
        "tampered": confirm_token(subscriber.pk)[:-2] + "xx",
        "expired": confirm_token(subscriber.pk, now=timezone.now() - timedelta(days=7, minutes=1)),
        "unsubscribe token": unsubscribe_token(subscriber.pk),
        "garbage": "not-a-token",
    }[case]
    client = visitor()

    for response in (
        client.get(f"/status/subscribe/confirm/{token}/"),
        client.post(f"/status/subscribe/confirm/{token}/"),
    ):
        assert response.status_code == 400
        assert "This link is not valid" in response.content.decode()
    assert Subscriber.objects.get(pk=subscriber.pk).confirmed_at is None


def test_a_confirm_link_just_under_seven_days_old_still_works():
    subscriber = email_subscriber(confirmed=False)
    token = confirm_token(subscriber.pk, now=timezone.now() - timedelta(days=6, hours=23))

    response = visitor().post(f"/status/subscribe/confirm/{token}/")

    assert response.status_code == 200
    assert Subscriber.objects.get(pk=subscriber.pk).confirmed_at is not None


def test_a_stranger_gets_the_same_answer_whatever_the_address_state(
    mailoutbox, django_capture_on_commit_callbacks
):
    new, unconfirmed, confirmed = fresh_address(), fresh_address(), fresh_address()
    email_subscriber(email=unconfirmed, confirmed=False)
    email_subscriber(email=confirmed)
    client = visitor()

    answers = []
    for address in (new, unconfirmed, confirmed):
        response = subscribe_email(client, django_capture_on_commit_callbacks, address)
        followed = client.get(response["Location"])
        answers.append((response.status_code, response["Location"], followed.content))

    assert answers[0] == answers[1] == answers[2]
    sent = {message.to[0]: message for message in mailoutbox}
    assert sent[new].subject.endswith("Confirm your subscription")
    assert sent[unconfirmed].subject.endswith("Confirm your subscription")  # re-sent
    assert sent[confirmed].subject.endswith("You are already subscribed")  # told its owner
    assert "/status/unsubscribe/" in sent[confirmed].body
    assert Subscriber.objects.filter(email=unconfirmed).count() == 1
    assert Subscriber.objects.filter(email=confirmed).count() == 1


def test_asking_again_within_a_minute_sends_no_second_email(
    mailoutbox, django_capture_on_commit_callbacks
):
    address = fresh_address()
    client = visitor()

    subscribe_email(client, django_capture_on_commit_callbacks, address)
    again = subscribe_email(client, django_capture_on_commit_callbacks, address)
    assert again.status_code == 302
    assert len(mailoutbox) == 1

    cache.delete(throttle.mail_key(address))  # a minute later
    subscribe_email(client, django_capture_on_commit_callbacks, address)
    assert len(mailoutbox) == 2
    assert links_in(mailoutbox[1])[0].startswith("http")


def test_the_latest_component_choice_wins_until_confirmation(django_capture_on_commit_callbacks):
    api = ServiceFactory(name="API")
    web = ServiceFactory(name="Website")
    address = fresh_address()
    client = visitor()

    subscribe_email(client, django_capture_on_commit_callbacks, address, components=[api.pk])
    cache.delete(throttle.mail_key(address))
    subscribe_email(client, django_capture_on_commit_callbacks, address, components=[web.pk])

    assert list(Subscriber.objects.get(email=address).components.all()) == [web]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"kind": "email", "email": ""}, "email", "Enter the address to send updates to."),
        ({"kind": "email", "email": "not an address"}, "email", "Enter a valid email address."),
        ({"kind": "webhook", "url": ""}, "url", "Enter the URL to POST updates to."),
        ({"kind": "webhook", "url": "ftp://example.com/x"}, "url", "Enter a valid URL."),
        ({"kind": "pigeon", "email": "a@example.com"}, "kind", "Select a valid choice."),
        (
            {"kind": "email", "email": "a@example.com", "components": ["999999"]},
            "components",
            "Select a valid choice.",
        ),
    ],
)
def test_bad_input_answers_400_with_the_form_and_its_error(data, field, message):
    response = visitor().post("/status/subscribe/", data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert field in response.context["form"].errors
    assert not Subscriber.objects.exists()


def test_an_internal_component_cannot_be_chosen():
    hidden = ServiceFactory(show_on_status_page=False)

    response = visitor().post(
        "/status/subscribe/", {"kind": "email", "email": fresh_address(), "components": [hidden.pk]}
    )

    assert response.status_code == 400
    assert "components" in response.context["form"].errors


def test_webhook_subscription_is_confirmed_at_once_and_shows_its_secret_once():
    api = ServiceFactory(name="API")
    client = visitor()
    with Receiver() as hook:
        response = client.post(
            "/status/subscribe/", {"kind": "webhook", "url": hook.url, "components": [api.pk]}
        )
        again = client.post("/status/subscribe/", {"kind": "webhook", "url": hook.url})

    subscriber = Subscriber.objects.get(kind=SubscriberKind.WEBHOOK)
    html = response.content.decode()
    assert response.status_code == 201
    assert subscriber.active
    assert len(subscriber.secret) == 64
    assert subscriber.secret in html
    assert "/status/unsubscribe/" in html
    assert list(subscriber.components.all()) == [api]
    assert again.status_code == 400
    assert "already subscribed" in again.content.decode()
    assert subscriber.secret not in again.content.decode()


def test_unsubscribe_link_in_a_notice_stops_the_deliveries(
    mailoutbox, django_capture_on_commit_callbacks
):
    subscriber = email_subscriber()
    incident = declare(public_title="Checkout errors")
    with django_capture_on_commit_callbacks(execute=True):
        publish(incident, "We are looking into it.")
    [notice] = mailoutbox
    [link] = links_in(notice)
    assert notice.extra_headers["List-Unsubscribe"] == f"<{link}>"
    assert notice.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    waiting = SubscriberDelivery.objects.create(
        subscriber=subscriber, event_key="later", subject="s", state=DeliveryState.FAILED
    )
    client = visitor()

    page = client.get(path_of(link))
    assert page.status_code == 200
    assert Subscriber.objects.get(pk=subscriber.pk).unsubscribed_at is None
    done = client.post(path_of(link))

    assert done.status_code == 200
    assert "You are unsubscribed" in done.content.decode()
    assert Subscriber.objects.get(pk=subscriber.pk).unsubscribed_at is not None
    waiting.refresh_from_db()
    assert waiting.state == DeliveryState.DEAD
    with django_capture_on_commit_callbacks(execute=True):
        publish(incident, "Fixed.", status="resolved")
    assert fan_out_sweep() == 0
    assert len(mailoutbox) == 1


def test_mail_clients_one_click_unsubscribe_post_needs_no_csrf_token():
    subscriber = email_subscriber()
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        f"/status/unsubscribe/{unsubscribe_token(subscriber.pk)}/",
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert Subscriber.objects.get(pk=subscriber.pk).unsubscribed_at is not None


def test_a_forged_unsubscribe_link_answers_400_and_changes_nothing():
    subscriber = email_subscriber()
    forged = unsubscribe_token(subscriber.pk)[:-3] + "abc"

    response = visitor().post(f"/status/unsubscribe/{forged}/")

    assert response.status_code == 400
    assert Subscriber.objects.get(pk=subscriber.pk).unsubscribed_at is None


def test_after_unsubscribing_the_address_can_subscribe_again(
    mailoutbox, django_capture_on_commit_callbacks
):
    old = email_subscriber()
    visitor().post(f"/status/unsubscribe/{unsubscribe_token(old.pk)}/")

    subscribe_email(visitor(), django_capture_on_commit_callbacks, old.email)

    fresh = Subscriber.objects.get(email=old.email, unsubscribed_at__isnull=True)
    assert fresh.pk != old.pk
    assert fresh.confirmed_at is None
    assert mailoutbox[-1].subject.endswith("Confirm your subscription")


def test_too_many_subscribe_requests_from_one_ip_get_429(settings):
    settings.STATUSPAGE_SUBSCRIBE_PER_HOUR = 3
    noisy, other = visitor(), visitor()

    codes = [noisy.post("/status/subscribe/", {"kind": "email"}).status_code for _ in range(4)]
    blocked = noisy.post("/status/subscribe/", {"kind": "email", "email": fresh_address()})

    assert codes == [400, 400, 400, 429]
    assert blocked.status_code == 429
    assert 0 < int(blocked["Retry-After"]) <= 3600
    assert "Too many requests" in blocked.content.decode()
    assert not Subscriber.objects.exists()
    assert other.post("/status/subscribe/", {"kind": "email"}).status_code == 400
    # Reading the form is never limited.
    assert noisy.get("/status/subscribe/").status_code == 200


@pytest.mark.parametrize(
    ("proxies", "forwarded", "counted_as"),
    [
        (0, "198.51.100.7", "2001:db8::1"),  # no proxy: the header is the client's own words
        (1, "203.0.113.66, 198.51.100.7", "198.51.100.7"),  # the Ingress appended the last
        (2, "203.0.113.66, 198.51.100.7, 10.0.0.2", "198.51.100.7"),
        (2, "198.51.100.7", "2001:db8::1"),  # fewer hops than proxies: not trusted
    ],
)
def test_the_client_address_behind_trusted_proxies(rf, settings, proxies, forwarded, counted_as):
    settings.STATUSPAGE_TRUSTED_PROXIES = proxies
    request = rf.post(
        "/status/subscribe/", REMOTE_ADDR="2001:db8::1", HTTP_X_FORWARDED_FOR=forwarded
    )

    assert client_ip(request) == counted_as
