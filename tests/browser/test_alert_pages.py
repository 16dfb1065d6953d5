"""The alert pages in Chromium: an admin wires up Alertmanager and works the alert it sends;
a viewer reads alerts but cannot act; the list filters with and without JavaScript.

Alerts are delivered over real HTTP to the live server (httpx), and folded inline
(ALERTS_PROCESS_INLINE) so the pages show them at once.
"""

from __future__ import annotations

import re

import httpx
import pytest
from django.test import Client
from playwright.sync_api import expect

from accounts.permissions import Role
from alerts.models import AlertGroup, GroupStatus
from alerts.services import integration_create
from incidents.models import Incident, Status
from incidents.services import incident_declare
from tests.alerts.payloads import am_alert, am_payload, generic_alert
from tests.factories import ServiceFactory

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _alerts_inline(settings, live_server):
    settings.ALERTS_PROCESS_INLINE = True
    # The integration page shows the URL tools post to: make it this live server's.
    settings.PUBLIC_BASE_URL = live_server.url


def _deliver(integration, payload) -> None:
    response = Client().post(
        "/api/integrations/generic/",
        payload,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {integration.raw_token}",
    )
    assert response.status_code == 202, response.content


@pytest.fixture
def hooks():
    issued = integration_create(kind="generic", name="Deploy hooks")
    issued.integration.raw_token = issued.token
    return issued.integration


def test_admin_connects_alertmanager_and_works_the_alert(page, make_user, login_as, screenshot):
    admin = make_user(Role.ADMIN, username="ada")
    ServiceFactory(name="Checkout", slug="checkout")
    login_as(page, admin)

    page.goto("/alerts/")
    page.get_by_role("link", name="Integrations").click()
    page.get_by_role("link", name="New integration").click()
    page.get_by_label("Kind").select_option("alertmanager")
    page.get_by_label("Name").fill("Prometheus production")
    page.get_by_label("Default service").select_option(label="Checkout")
    page.get_by_label("critical").select_option("P0")
    page.get_by_role("button", name="Create integration").click()

    expect(page.locator(".message-success")).to_contain_text("Prometheus production")
    reveal = page.locator("#token-reveal")
    expect(reveal).to_contain_text("shown only this once")
    token = page.locator("#integration-token").inner_text().strip()
    url = page.locator("#endpoint-url").inner_text().strip()
    assert token.startswith("opi_") and url.endswith("/api/integrations/alertmanager/")
    expect(page.locator("pre.snippet")).to_contain_text(f'credentials: "{token}"')
    screenshot(page, "integration-created")
    page.reload()
    expect(page.locator("#token-reveal")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text(token)

    # Alertmanager's webhook, as Alertmanager sends it: the URL and token from the page.
    alert = am_alert(
        "CheckoutErrorRate",
        service="checkout",
        severity="critical",
        summary="Checkout 5xx rate above 5% for 10 minutes",
        team="payments",
    )
    alert["annotations"]["description"] = "Card payments fail with 503 from the PSP adapter."
    alert["annotations"]["runbook_url"] = "https://runbooks.example/checkout-5xx"
    response = httpx.post(
        url, json=am_payload(alert), headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert response.status_code == 202, response.text
    group = AlertGroup.objects.get()
    incident = Incident.objects.get()
    assert group.incident == incident and incident.severity == "P0"

    page.goto("/alerts/")
    row = page.locator("tr.group-row", has_text="Checkout 5xx rate")
    expect(row).to_contain_text("Firing")
    expect(row).to_contain_text("Prometheus production")
    expect(row.get_by_role("link", name=incident.ref)).to_be_visible()
    screenshot(page, "alert-list")

    row.get_by_role("link", name="Checkout 5xx rate above 5% for 10 minutes").click()
    expect(page.locator("h1")).to_contain_text("Checkout 5xx rate above 5%")
    expect(page.locator("#routing-h + .config")).to_contain_text("Open an incident")
    expect(page.get_by_role("link", name="https://runbooks.example/checkout-5xx")).to_be_visible()
    page.locator(".json-details summary", has_text="Raw delivery").first.click()
    expect(page.locator("pre.json").nth(1)).to_contain_text('"receiver": "portal"')
    screenshot(page, "alert-group")

    page.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(".message-success")).to_have_text("Alert group acknowledged.")
    expect(page.locator(".group-header .gstatus")).to_have_text("Acknowledged")
    assert Incident.objects.get().status == Status.ACKNOWLEDGED
    page.get_by_role("button", name="Resolve").click()
    expect(page.locator(".message-success")).to_have_text("Alert group resolved.")
    expect(page.locator(".group-header .gstatus")).to_have_text("Resolved")
    expect(page.get_by_role("button", name="Resolve")).to_have_count(0)
    assert AlertGroup.objects.get().status == GroupStatus.RESOLVED

    page.locator("#incident-h + p").get_by_role("link").click()
    panel = page.locator("#panel-alerts")
    expect(panel).to_contain_text("Checkout 5xx rate above 5%")
    expect(panel).to_contain_text("1 resolved")
    screenshot(page, "incident-alert-panel")


def test_viewer_reads_alerts_but_sees_no_actions_or_integrations(page, make_user, login_as, hooks):
    viewer = make_user(Role.VIEWER, username="vic")
    ServiceFactory(name="Search", slug="search")
    _deliver(hooks, generic_alert("search-slow", title="Search p99 above 2 s", service="search"))
    login_as(page, viewer)

    page.goto("/alerts/")
    expect(page.get_by_role("link", name="Integrations")).to_have_count(0)
    page.get_by_role("link", name="Search p99 above 2 s").click()
    expect(page.locator("h1")).to_contain_text("Search p99 above 2 s")
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    expect(page.get_by_role("button", name="Resolve")).to_have_count(0)
    expect(page.locator("form.link-form")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text(hooks.raw_token)
    response = page.goto("/alerts/integrations/")
    assert response is not None and response.status == 403


def test_filters_work_with_htmx_and_without_javascript(page, make_user, login_as, open_page, hooks):
    viewer = make_user(Role.VIEWER, username="vic")
    _deliver(
        hooks,
        {
            "alerts": [
                generic_alert("disk-db1", title="Disk full on db-1", severity="warning"),
                generic_alert("queue-lag", title="Orders queue lag", severity="critical"),
            ]
        },
    )
    _deliver(hooks, generic_alert("disk-db1", status="resolved"))

    login_as(page, viewer)
    page.goto("/alerts/")
    expect(page.locator("tr.group-row")).to_have_count(1)  # open only: the disk one resolved
    page.get_by_label("Status").select_option("all")
    expect(page.locator("tr.group-row")).to_have_count(2)
    expect(page).to_have_url(re.compile(r"status=all"))
    page.get_by_label("Search").fill("disk")
    expect(page.locator("tr.group-row")).to_have_count(1)
    expect(page.locator("tr.group-row")).to_contain_text("Resolved")

    no_js = open_page(java_script_enabled=False)
    login_as(no_js, viewer)
    no_js.goto("/alerts/")
    no_js.get_by_label("Status").select_option("all")
    no_js.get_by_label("Search").fill("queue")
    no_js.get_by_role("button", name="Apply").click()
    expect(no_js).to_have_url(re.compile(r"q=queue"))
    expect(no_js.locator("tr.group-row")).to_have_count(1)
    expect(no_js.locator("tr.group-row")).to_contain_text("Orders queue lag")


@pytest.mark.browser_context_args(viewport={"width": 390, "height": 844})
def test_group_page_fits_a_phone(page, make_user, login_as, screenshot, hooks, commander):
    """The link form's long <select> once widened the header past the screen."""
    incident_declare(
        title="Checkout card payments failing for a large share of customers in the EU",
        severity="P1",
        by=commander,
    )
    _deliver(hooks, generic_alert("long", title="Card payments failing " * 6, severity="error"))
    login_as(page, make_user(Role.COMMANDER, username="casey"))
    page.goto(f"/alerts/{AlertGroup.objects.get().pk}/")
    expect(page.locator("form.link-form")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.goto("/alerts/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "alert-list-mobile")
