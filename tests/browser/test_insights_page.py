"""A viewer opens the insights dashboard in Chromium, picks the three weeks of the fixed history
(tests/insights/history.py), reads the charts and tables and downloads the CSV. The dashboard is
photographed on a desktop in light and dark mode and on a phone, under tests/screenshots/."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from accounts.permissions import Role
from tests.insights import history as fixed

pytestmark = pytest.mark.browser


@pytest.fixture
def seeded(settings, make_user, without_evidence_gates):
    settings.BUSINESS_TIME_ZONE = fixed.ZONE
    return fixed.build(make_user(Role.COMMANDER, username="cora"))


def test_viewer_reads_the_insights_of_three_weeks(
    page: Page, make_user, login_as, screenshot, seeded
):
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    login_as(page, make_user(Role.VIEWER, username="vera"))

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Insights").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Insights")
    # Dates only show up for "Custom dates".
    expect(page.get_by_label("From", exact=True)).to_be_hidden()
    page.get_by_label("Period").select_option("custom")
    page.get_by_label("From", exact=True).fill("2025-03-17")
    page.get_by_label("To", exact=True).fill("2025-04-06")
    page.get_by_role("button", name="Show").click()

    expect(page.get_by_text("17 Mar 2025 – 06 Apr 2025")).to_be_visible()
    charts = page.locator("svg.chart[role=img]")
    expect(charts).to_have_count(6)
    weekly = page.locator("svg.chart-weekly")
    expect(weekly).to_have_attribute(
        "aria-label",
        "Incidents per week by severity: 7 in 3 weeks, weeks of 17 Mar 2025 to 31 Mar 2025",
    )
    expect(weekly.locator("rect.bar:not(.swatch)")).to_have_count(6)
    # The numbers under the charts.
    steps = page.get_by_role("table", name="Minutes in each playbook step")
    expect(steps.get_by_role("row", name="Assess")).to_contain_text("35.0")
    top = page.get_by_role("table", name="Top services by downtime")
    expect(top.get_by_role("row").nth(1)).to_contain_text("Payments")
    expect(top.get_by_role("row").nth(1)).to_contain_text("30180.0")
    # Charts fit their cards at 1366 px: nothing sticks out sideways.
    for index in range(6):
        box = charts.nth(index).bounding_box()
        card = charts.nth(index).locator("xpath=ancestor::section").bounding_box()
        assert box["x"] >= card["x"] and box["x"] + box["width"] <= card["x"] + card["width"]
    screenshot(page, "insights-dashboard")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == "insights-2025-03-17-to-2025-04-06.csv"

    page.emulate_media(color_scheme="dark")
    screenshot(page, "insights-dashboard-dark")

    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "insights-dashboard-phone")
    # On a phone a chart keeps its text size and scrolls sideways inside its card.
    page.locator(".in-mttr").scroll_into_view_if_needed()
    screenshot(page, "insights-dashboard-phone-chart", full_page=False)
    assert errors == []
