"""Subscribing from the public status page, as a stakeholder does it: from the header link to the
confirmed subscription (JavaScript off), a webhook with its one-time secret, and the admins'
view of deliveries. Screenshots under tests/screenshots/."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from accounts.permissions import Role
from statuspage.models import DeliveryState, Subscriber, SubscriberDelivery
from tests.factories import ServiceFactory, ServiceGroupFactory, UserFactory
from tests.statuspage.subscription_support import (
    Receiver,
    email_subscriber,
    fresh_address,
    links_in,
    path_of,
    webhook_subscriber,
)

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    # The browser always comes from 127.0.0.1; the per-IP limit has its own test.
    settings.STATUSPAGE_SUBSCRIBE_PER_HOUR = 10_000


@pytest.fixture
def catalog():
    customer = ServiceGroupFactory(name="Customer-facing", position=1)
    platform = ServiceGroupFactory(name="Platform", position=2)
    ServiceFactory(name="Checkout API", group=customer)
    ServiceFactory(name="Storefront", group=customer)
    ServiceFactory(name="Orders database", group=platform)
    ServiceFactory(name="Email delivery", group=None)
    ServiceFactory(name="Internal batch", group=platform, show_on_status_page=False)


def test_a_stakeholder_subscribes_by_email_without_javascript(
    open_page, catalog, mailoutbox, screenshot
):
    page = open_page(java_script_enabled=False)
    page.goto("/status/")
    page.get_by_role("link", name="Subscribe to updates").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Subscribe to updates")
    expect(page.get_by_text("Internal batch")).to_have_count(0)
    address = fresh_address()  # one confirmation per address a minute: never reuse one
    page.get_by_label("Email address").fill(address)
    page.get_by_label("Checkout API").check()
    screenshot(page, "status-subscribe-form")

    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    screenshot(page, "status-subscribe-check-inbox")

    [message] = mailoutbox
    page.goto(path_of(links_in(message)[0]))
    page.get_by_role("button", name="Confirm subscription").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You are subscribed")
    screenshot(page, "status-subscribe-confirmed")
    subscriber = Subscriber.objects.get(email=address)
    assert subscriber.active
    assert [c.name for c in subscriber.components.all()] == ["Checkout API"]


def test_the_subscribe_form_in_dark_mode_and_an_error(page: Page, catalog, screenshot):
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.emulate_media(color_scheme="dark")
    page.goto("/status/subscribe/")
    page.get_by_label("Webhook", exact=True).check()
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_text("Enter the URL to POST updates to.")).to_be_visible()
    screenshot(page, "status-subscribe-form-dark-error")
    # The form's answer is a 400 on purpose (bad input → 4xx); the browser logs it, nothing else.
    assert [e for e in errors if "status of 400" not in e] == []


def test_a_webhook_subscription_shows_its_secret_once(page: Page, catalog, screenshot):
    with Receiver() as hook:
        page.goto("/status/subscribe/")
        page.get_by_label("Webhook", exact=True).check()
        page.get_by_label("Webhook URL").fill(hook.url)
        page.get_by_role("button", name="Subscribe").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Webhook subscribed")
    secret = Subscriber.objects.get(url=hook.url).secret
    expect(page.locator("#webhook-secret")).to_have_text(secret)
    screenshot(page, "status-subscribe-webhook-secret")


def test_an_admin_sees_failing_deliveries_first_and_retries_one(
    page: Page, login_as, screenshot, settings
):
    settings.STATUSPAGE_DELIVER_INLINE = True
    admin = UserFactory(username="ada", role=Role.ADMIN)
    reader = email_subscriber(email="alice.wonder@example.org")
    hook = webhook_subscriber("https://hooks.example.net/services/T000/B000/SECRET")
    for index, (who, state, error) in enumerate(
        [
            (reader, DeliveryState.SENT, ""),
            (hook, DeliveryState.DEAD, "HTTP 410 Gone"),
            (reader, DeliveryState.FAILED, "SMTP unavailable: ConnectionRefusedError(111)"),
        ]
    ):
        SubscriberDelivery.objects.create(
            subscriber=who,
            event_key=f"incident.public_update:{index}",
            subject="[Ops Portal] Elevated error rates at checkout: Identified",
            payload={},
            state=state,
            attempts=5 if state == DeliveryState.DEAD else 1,
            last_error=error,
        )
    login_as(page, admin, next_url="/status/admin/subscribers/")

    expect(page.get_by_role("heading", level=1)).to_have_text("Status page subscribers")
    rows = page.locator("#deliveries tbody tr")
    expect(rows.first).to_contain_text("Gave up")
    expect(page.get_by_text("alice.wonder")).to_have_count(0)
    expect(page.get_by_text("SECRET")).to_have_count(0)
    screenshot(page, "status-subscribers-admin")

    rows.first.get_by_role("button", name="Retry now").click()
    expect(page.get_by_text("queued again")).to_be_visible()
