"""A commander plans a maintenance window in Chromium, ticks its required "before" items,
starts it and finds it on the public status page; the list, calendar, window page and form are
photographed under tests/screenshots/. A responder ticks an item with JavaScript off."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.permissions import Role
from catalog.models import Service
from maintenance import services
from maintenance.models import (
    ChecklistTemplate,
    MaintenanceWindow,
    Phase,
    WindowEventKind,
    WindowState,
)
from tests.factories import ServiceFactory, ServiceGroupFactory

pytestmark = pytest.mark.browser

LOCAL = "%Y-%m-%dT%H:%M"


def _utc_input(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(LOCAL)


@pytest.fixture
def catalog(db):
    platform = ServiceGroupFactory(name="Platform", position=1)
    orders_db = ServiceFactory(name="Orders database", slug="orders-db", group=platform)
    ServiceFactory(name="Checkout API", slug="checkout", group=platform)
    return orders_db


@pytest.fixture
def other_windows(make_user, catalog):
    """A finished and a planned window, so the list and calendar have more than one row."""
    someone = make_user(Role.COMMANDER, username="olga")
    now = timezone.now()
    checkout = Service.objects.get(slug="checkout")
    done = services.window_create(
        title="Rotate TLS certificates",
        services=[checkout],
        scheduled_start=now - timedelta(days=2),
        scheduled_end=now - timedelta(days=2) + timedelta(hours=1),
        rollback_plan="Put the old certificate back.",
        by=someone,
    )
    services.window_cancel(window=done, by=someone, reason="Provider delayed the rotation")
    services.window_create(
        title="Kafka broker rolling restart",
        services=[checkout],
        scheduled_start=now + timedelta(days=3),
        scheduled_end=now + timedelta(days=3, hours=2),
        rollback_plan="Stop the restart; brokers rejoin by themselves.",
        public=False,
        by=someone,
    )


def test_commander_plans_runs_and_publishes_a_maintenance(
    page: Page, make_user, login_as, screenshot, catalog, other_windows
):
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    commander = make_user(Role.COMMANDER, username="casey", first_name="Casey")
    login_as(page, commander)

    page.goto("/maintenance/")
    page.get_by_role("link", name="Plan a window").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Plan a maintenance window")
    start = timezone.now() + timedelta(minutes=10)
    page.get_by_label("Title").fill("Orders database upgrade to PostgreSQL 17")
    page.get_by_label("Orders database").check()
    page.get_by_label("Start (UTC)").fill(_utc_input(start))
    page.get_by_label("End (UTC)").fill(_utc_input(start + timedelta(hours=2)))
    page.get_by_label("Description").fill(
        "Orders placed during the window are **queued** and processed afterwards."
    )
    page.get_by_label("Rollback plan").fill(
        "1. Stop the upgrade.\n2. Restore last night's verified dump.\n3. Re-point the pool."
    )
    default = ChecklistTemplate.objects.get(is_default=True)
    expect(page.get_by_label("Checklist", exact=True)).to_have_value(str(default.pk))
    screenshot(page, "maintenance-form")
    page.get_by_role("button", name="Plan window").click()

    header = page.locator(".mw-header")
    expect(header.locator("h1")).to_contain_text("Orders database upgrade to PostgreSQL 17")
    window = MaintenanceWindow.objects.get(title__startswith="Orders database upgrade")
    expect(header.locator("h1")).to_contain_text(window.ref)
    expect(header).to_contain_text("Scheduled")
    expect(header).to_contain_text("Public")
    expect(header.get_by_role("button", name="Start maintenance")).to_be_visible()
    expect(header).to_contain_text("Blocked: 4 required “Before” items open")

    screenshot(page, "maintenance-detail-blocked")

    # Tick the required "before" items: htmx swaps the checklist and the Start gate in place.
    before = page.get_by_role("region", name="Before")
    required = window.checklist.filter(phase=Phase.PRE, required=True).order_by("position")
    for item in required:
        box = before.get_by_role("checkbox", name=item.title)
        expect(box).not_to_be_checked()
        box.click()
        expect(before.get_by_role("checkbox", name=item.title)).to_be_checked()
    expect(before).to_contain_text("Done by Casey")
    expect(header).not_to_contain_text("Blocked:")
    page.get_by_label("Add a note").fill("Verified dump from 02:00 restored on staging: *OK*.")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator(".event-note").last).to_contain_text("restored on staging")

    page.get_by_role("button", name="Start maintenance").click()
    expect(page.locator(".message-success")).to_contain_text("started")
    expect(header).to_contain_text("In progress")
    expect(header.get_by_role("button", name="Move to verifying")).to_be_visible()
    expect(page.get_by_role("region", name="Log")).to_contain_text("Scheduled → In progress")
    screenshot(page, "maintenance-detail")
    window.refresh_from_db()
    assert window.state == WindowState.IN_PROGRESS
    assert window.checklist.filter(phase=Phase.PRE, required=True, done_by=commander).count() == 4
    assert window.events.filter(kind=WindowEventKind.OVERRIDE).count() == 0

    page.goto("/maintenance/")
    in_progress = page.get_by_role("region", name="In progress")
    expect(in_progress).to_contain_text("Orders database upgrade to PostgreSQL 17")
    expect(page.get_by_role("region", name="Upcoming")).to_contain_text("Internal")
    expect(page.get_by_role("region", name="Past")).to_contain_text("Cancelled")
    screenshot(page, "maintenance-list")

    page.get_by_role("link", name="Calendar").click()
    calendar = page.get_by_role("region", name=start.astimezone(UTC).strftime("%B %Y"))
    expect(calendar.get_by_role("link", name="Orders database upgrade")).to_have_count(
        1
        if start.astimezone(UTC).date() == (start + timedelta(hours=2)).astimezone(UTC).date()
        else 2
    )
    screenshot(page, "maintenance-calendar")

    # The public status page: anyone, signed in or not, sees the window and the component.
    page.goto("/status/")
    active = page.get_by_role("region", name="Maintenance in progress")
    expect(active).to_contain_text("Orders database upgrade to PostgreSQL 17")
    expect(active).to_contain_text("In progress")
    components = page.get_by_role("region", name="Components")
    orders = components.get_by_role("listitem").filter(has_text="Orders database")
    expect(orders).to_contain_text("Under maintenance")
    expect(page.get_by_text("Kafka broker rolling restart")).to_have_count(0)  # internal
    screenshot(page, "maintenance-status-page")

    page.emulate_media(color_scheme="dark")
    page.goto(f"/maintenance/{window.pk}/")
    expect(page.locator(".mw-header")).to_contain_text("In progress")
    screenshot(page, "maintenance-detail-dark")
    assert errors == []


def test_a_responder_ticks_an_item_without_javascript(open_page, make_user, login_as, catalog):
    commander = make_user(Role.COMMANDER, username="cora")
    responder = make_user(Role.RESPONDER, username="ravi", first_name="Ravi")
    start = timezone.now() + timedelta(days=1)
    window = services.window_create(
        title="Replace the load balancer",
        services=[catalog],
        scheduled_start=start,
        scheduled_end=start + timedelta(hours=1),
        rollback_plan="Switch the DNS back.",
        by=commander,
    )
    item = window.checklist.filter(phase=Phase.DURING).order_by("position").first()
    page = open_page(java_script_enabled=False)
    login_as(page, responder)
    page.goto(f"/maintenance/{window.pk}/")
    expect(page.get_by_role("button", name="Start maintenance")).to_have_count(0)
    page.get_by_role("checkbox", name=item.title).click()
    expect(page).to_have_url(re.compile(rf"/maintenance/{window.pk}/#item-{item.pk}$"))
    expect(page.get_by_role("checkbox", name=item.title)).to_be_checked()
    expect(page.locator(f"#item-{item.pk}")).to_contain_text("Done by Ravi")


def test_planning_over_another_window_asks_for_confirmation(
    page: Page, make_user, login_as, screenshot, catalog
):
    commander = make_user(Role.COMMANDER, username="casey")
    start = (timezone.now() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    existing = services.window_create(
        title="Disk replacement",
        services=[catalog],
        scheduled_start=start,
        scheduled_end=start + timedelta(hours=2),
        rollback_plan="Re-attach the old volume.",
        by=commander,
    )
    login_as(page, commander)
    page.goto("/maintenance/new/")
    page.get_by_label("Title").fill("Minor version upgrade")
    page.get_by_label("Orders database").check()
    page.get_by_label("Start (UTC)").fill(_utc_input(start + timedelta(hours=1)))
    page.get_by_label("End (UTC)").fill(_utc_input(start + timedelta(hours=3)))
    page.get_by_role("button", name="Plan window").click()

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("These services already have maintenance at that time")
    expect(alert.get_by_role("link", name=existing.ref)).to_be_visible()
    expect(page.get_by_label("Title")).to_have_value("Minor version upgrade")
    screenshot(page, "maintenance-form-overlap")
    page.get_by_label("Create anyway").check()
    page.get_by_role("button", name="Plan window").click()
    expect(page.locator(".mw-header h1")).to_contain_text("Minor version upgrade")
    created = MaintenanceWindow.objects.exclude(pk=existing.pk).get()
    expect(page.locator("h1")).to_contain_text(created.ref)
