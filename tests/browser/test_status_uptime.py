"""A stakeholder reads 90 days of history per component on the public status page: coloured
bars with a tooltip per day and the uptime %, in light and dark mode and on a phone."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from catalog.models import ComponentStatus as S
from statuspage.uptime import uptime_refresh
from tests.factories import ServiceGroupFactory
from tests.statuspage.incident_support import declare, publish
from tests.statuspage.uptime_support import history, service_created

pytestmark = pytest.mark.browser
DAY = timedelta(days=1)


@pytest.fixture
def ninety_days():
    now = timezone.now()
    noon = now.replace(hour=12, minute=0, second=0, microsecond=0)
    customer = ServiceGroupFactory(name="Customer-facing", position=1)
    checkout = service_created(now - 200 * DAY, name="Checkout API", group=customer)
    history(
        checkout,
        (noon - 62 * DAY, S.MAJOR_OUTAGE),
        (noon - 62 * DAY + timedelta(hours=2), S.OPERATIONAL),
        (noon - 20 * DAY, S.PARTIAL_OUTAGE),
        (noon - 19 * DAY, S.OPERATIONAL),
        (noon - 5 * DAY, S.DEGRADED_PERFORMANCE),
        (noon - 5 * DAY + timedelta(hours=3), S.OPERATIONAL),
    )
    incident = declare(
        title="pgbouncer pool exhausted",
        public_title="Checkout errors",
        services=[checkout],
        now=noon - 20 * DAY,
    )
    publish(incident, "Orders fail.", now=noon - 20 * DAY, component_status=S.PARTIAL_OUTAGE)
    publish(
        incident,
        "Fixed.",
        status="resolved",
        now=noon - 19 * DAY,
        component_status=S.OPERATIONAL,
    )
    search = service_created(now - 200 * DAY, name="Search", group=customer)
    history(
        search,
        (noon - 40 * DAY, S.UNDER_MAINTENANCE),
        (noon - 40 * DAY + timedelta(hours=1), S.OPERATIONAL),
    )
    service_created(now - 30 * DAY, name="Webhooks", group=None)
    uptime_refresh(now=now)
    return {"incident": incident}


def _assert_bars(page: Page, ninety_days):
    components = page.get_by_role("region", name="Components")
    checkout = components.get_by_role("listitem").filter(has_text="Checkout API")
    chart = checkout.get_by_role("img")
    # 120 min major + 0.3 x 1,440 min partial over 89 days and today so far.
    expect(chart).to_have_attribute(
        "aria-label", re.compile(r"^Checkout API: 99\.5[67]% uptime over the last 90 days$")
    )
    # Lines dashed 3 on, 1 off: a dash per day; consecutive quiet days share a <path>.
    lengths = checkout.locator("svg path").evaluate_all(
        "paths => paths.map(p => Number(p.getAttribute('d').split('h')[1]))"
    )
    assert sum((length + 1) // 4 for length in lengths) == 90
    # The pointer over the first day's dash finds the line and its tooltip; the gap, nothing.
    hits = chart.evaluate(
        """svg => [1.5, 3.5].map(x => {
            const box = svg.getBoundingClientRect();
            const at = document.elementFromPoint(
                box.left + box.width * x / 359, box.top + box.height / 2);
            return at.tagName + ": " + (at.querySelector("title") || {}).textContent;
        })"""
    )
    assert hits[0].startswith("path: ") and hits[0].endswith("\nNo downtime")
    assert not hits[1].startswith("path")
    expect(checkout.locator("path.m")).to_have_count(1)
    expect(checkout.locator("path.p")).to_have_count(2)
    number = ninety_days["incident"].number
    expect(checkout.locator("path.p title").first).to_contain_text(
        f"Incident: Checkout errors (INC-{number})"
    )
    expect(checkout).to_contain_text(re.compile(r"99\.5[67]% uptime"))
    webhooks = components.get_by_role("listitem").filter(has_text="Webhooks")
    expect(webhooks.locator("path.n")).to_have_attribute("d", "M0 1h235")  # 59 days
    expect(webhooks.locator("path.n title")).to_contain_text("No data")
    expect(webhooks).to_contain_text("100% uptime")
    expect(page.get_by_text("pgbouncer")).to_have_count(0)


def test_a_visitor_reads_ninety_days_of_history(page: Page, ninety_days, screenshot):
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto("/status/")
    _assert_bars(page, ninety_days)
    screenshot(page, "status-page-uptime")
    assert errors == []


def test_the_bars_in_dark_mode(page: Page, ninety_days, screenshot):
    page.emulate_media(color_scheme="dark")
    page.goto("/status/")
    _assert_bars(page, ninety_days)
    screenshot(page, "status-page-uptime-dark")


@pytest.mark.browser_context_args(
    viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
)
def test_the_bars_fit_a_phone(page: Page, ninety_days, screenshot):
    page.goto("/status/")
    _assert_bars(page, ninety_days)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "status-page-uptime-phone")
