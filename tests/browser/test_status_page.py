"""The public status page as a stakeholder reads it during a maintenance: anonymous, in light
and dark mode, on a phone and with JavaScript off. Screenshots under tests/screenshots/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from catalog.models import ComponentStatus
from maintenance.models import WindowState
from tests.factories import ServiceFactory, ServiceGroupFactory
from tests.statuspage.support import announce, make_window, move

pytestmark = pytest.mark.browser

HOUR = timedelta(hours=1)


@pytest.fixture
def maintenance_day():
    """A catalog with one window running, one planned and one degraded component."""
    customer = ServiceGroupFactory(name="Customer-facing", position=1)
    platform = ServiceGroupFactory(name="Platform", position=2)
    checkout = ServiceFactory(name="Checkout API", group=customer)
    ServiceFactory(
        name="Search",
        group=customer,
        component_name="Product search",
        status=ComponentStatus.DEGRADED_PERFORMANCE,
    )
    ServiceFactory(name="Storefront", group=customer)
    orders_db = ServiceFactory(name="Orders database", group=platform)
    ServiceFactory(name="Event bus", group=platform)
    ServiceFactory(name="Email delivery", group=None)
    ServiceFactory(name="Internal batch", group=platform, show_on_status_page=False)

    running = make_window(
        [orders_db],
        title="Orders database upgrade to PostgreSQL 17",
        description="Orders placed during the window are **queued** and processed afterwards.",
        start=timezone.now() - HOUR,
        hours=3,
    )
    announce(running, "We will upgrade the orders database tonight.")
    move(running, WindowState.IN_PROGRESS, body="The upgrade has started; checkout may be slow.")
    planned = make_window(
        [checkout],
        title="Payment provider certificate rotation",
        start=timezone.now() + 26 * HOUR,
        hours=1,
    )
    announce(planned, "Card payments may fail for up to a minute during the rotation.")
    make_window([checkout], title="Secret internal window", public=False)
    return {"running": running, "planned": planned}


def _assert_maintenance_story(page: Page):
    expect(page.get_by_role("heading", level=1)).to_have_text("Partially Degraded Service")
    active = page.get_by_role("region", name="Maintenance in progress")
    expect(active).to_contain_text("Orders database upgrade to PostgreSQL 17")
    expect(active).to_contain_text("In progress")
    expect(active).to_contain_text("The upgrade has started")
    components = page.get_by_role("region", name="Components")
    orders = components.get_by_role("listitem").filter(has_text="Orders database")
    expect(orders).to_contain_text("Under maintenance")
    expect(components.get_by_role("listitem").filter(has_text="Product search")).to_contain_text(
        "Degraded performance"
    )
    expect(page.get_by_role("region", name="Scheduled maintenance")).to_contain_text(
        "Payment provider certificate rotation"
    )
    expect(page.get_by_text("Internal batch")).to_have_count(0)
    expect(page.get_by_text("Secret internal window")).to_have_count(0)


def test_a_visitor_sees_the_running_maintenance_on_the_status_page(
    page: Page, maintenance_day, screenshot
):
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto("/status/")
    _assert_maintenance_story(page)
    screenshot(page, "status-page-maintenance")

    page.get_by_role("link", name="Orders database upgrade to PostgreSQL 17").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Orders database upgrade to PostgreSQL 17"
    )
    updates = page.get_by_role("region", name="Updates").get_by_role("listitem")
    expect(updates).to_have_count(2)
    expect(updates.first).to_contain_text("The upgrade has started")
    screenshot(page, "status-page-maintenance-detail")
    assert errors == []


def test_the_status_page_in_dark_mode(page: Page, maintenance_day, screenshot):
    page.emulate_media(color_scheme="dark")
    page.goto("/status/")
    _assert_maintenance_story(page)
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(13, 17, 23)"
    screenshot(page, "status-page-maintenance-dark")


def test_the_status_page_works_without_javascript(open_page, maintenance_day):
    page = open_page(java_script_enabled=False)
    page.goto("/status/")
    _assert_maintenance_story(page)


@pytest.mark.browser_context_args(
    viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
)
def test_the_status_page_fits_a_phone(page: Page, maintenance_day, screenshot):
    page.goto("/status/")
    _assert_maintenance_story(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    screenshot(page, "status-page-maintenance-phone")
