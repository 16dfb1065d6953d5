"""The public status page as a stakeholder reads it during a maintenance: anonymous, in light
and dark mode, on a phone and with JavaScript off. Screenshots under tests/screenshots/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from catalog.models import ComponentStatus, Service
from maintenance.models import WindowState
from tests.factories import ServiceFactory, ServiceGroupFactory
from tests.statuspage.incident_support import MINUTE, declare, note, publish
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


# --- An incident unfolding --------------------------------------------------------------------


@pytest.fixture
def incident_day(maintenance_day):
    """The maintenance day plus an open incident with two public updates (and internal notes),
    and one resolved earlier today."""
    checkout = Service.objects.get(name="Checkout API")
    now = timezone.now()
    incident = declare(
        title="pgbouncer pool exhausted on db-07",
        public_title="Elevated error rates at checkout",
        severity="P1",
        services=[checkout],
        now=now - 40 * MINUTE,
    )
    publish(
        incident,
        "We are investigating elevated error rates when placing orders.",
        now=now - 35 * MINUTE,
        component_status="partial_outage",
    )
    note(incident, "Internal: db-07 pool at 100%", now=now - 30 * MINUTE)
    publish(
        incident,
        "We identified the cause: a **database connection pool** is exhausted. "
        "A fix is being deployed; some orders may still fail and can be retried.",
        status="identified",
        now=now - 10 * MINUTE,
    )
    earlier = declare(title="cdn purge storm", public_title="Slow image loading", severity="P2")
    publish(earlier, "Product images load slowly.", now=now - 5 * HOUR)
    publish(earlier, "Image loading is back to normal.", status="resolved", now=now - 4 * HOUR)
    return {"incident": incident, "earlier": earlier}


def _assert_incident_story(page: Page):
    expect(page.get_by_role("heading", level=1)).to_have_text("Partial System Outage")
    incidents = page.get_by_role("region", name="Active incidents")
    expect(incidents).to_contain_text("Elevated error rates at checkout")
    expect(incidents).to_contain_text("Identified")
    expect(incidents).to_contain_text("Major impact")
    expect(incidents.locator(".sp-update")).to_have_count(2)
    expect(incidents.locator(".sp-update").first).to_contain_text("We identified the cause")
    expect(page.get_by_text("Slow image loading")).to_have_count(0)
    expect(page.get_by_text("pgbouncer")).to_have_count(0)
    expect(page.get_by_text("Internal: db-07")).to_have_count(0)
    components = page.get_by_role("region", name="Components")
    checkout = components.get_by_role("listitem").filter(has_text="Checkout API")
    expect(checkout).to_contain_text("Partial outage")


def test_a_visitor_follows_an_incident_from_the_page_to_its_history(
    page: Page, incident_day, screenshot
):
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto("/status/")
    _assert_incident_story(page)
    # Incidents come first: above the maintenance in progress.
    headings = page.get_by_role("heading", level=2).all_inner_texts()
    assert headings.index("Active incidents") < headings.index("Maintenance in progress")
    screenshot(page, "status-page-incident")

    page.get_by_role("link", name="Elevated error rates at checkout").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Elevated error rates at checkout")
    updates = page.get_by_role("region", name="Updates").get_by_role("listitem")
    expect(updates).to_have_count(2)
    expect(updates.first).to_contain_text("Identified")
    expect(updates.last).to_contain_text("Investigating")
    screenshot(page, "status-page-incident-detail")

    page.get_by_role("link", name="Incident history").first.click()
    history = page.get_by_role("region", name="Incidents")
    expect(history).to_contain_text("Elevated error rates at checkout")
    expect(history).to_contain_text("Slow image loading")
    expect(history).to_contain_text("Resolved")
    screenshot(page, "status-page-history")
    assert errors == []


def test_an_incident_in_dark_mode(page: Page, incident_day, screenshot):
    page.emulate_media(color_scheme="dark")
    page.goto("/status/")
    _assert_incident_story(page)
    screenshot(page, "status-page-incident-dark")
    incident = incident_day["incident"]
    page.goto(f"/status/incidents/INC-{incident.number}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Elevated error rates at checkout")
    screenshot(page, "status-page-incident-detail-dark")


def test_an_incident_reads_without_javascript(open_page, incident_day):
    page = open_page(java_script_enabled=False)
    page.goto("/status/")
    _assert_incident_story(page)
