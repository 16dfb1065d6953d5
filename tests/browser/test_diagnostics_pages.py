"""Diagnostics in Chromium: a commander reads an incident's probe results (a findings table and
what changed since the last OK run), the probe catalogue and the runbook editor, in light and
dark mode and on a phone; and an open incident page receives a runbook's results live.

Probes run for real and inline (DIAGNOSTICS_RUN_INLINE): `http.health` against a local HTTP
server whose answer the test sets, `redis.memory` against the Redis on 127.0.0.1.
"""

from __future__ import annotations

import re

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from accounts.permissions import Role
from catalog.models import Target
from catalog.target_configs import validate_target_config
from diagnostics import services
from diagnostics.models import Diagnosis, Runbook
from incidents.services import incident_declare
from tests.diagnostics_web import conftest as diagnostics_conftest
from tests.factories import ServiceFactory

pytestmark = pytest.mark.browser
health_server = diagnostics_conftest.health_server  # the same fixture as the page tests
REDIS_ENV = "CHECKOUT_CACHE_URL"
LIVE_TIMEOUT_MS = 10_000
PHONE = {"width": 390, "height": 844}


@pytest.fixture(autouse=True)
def _probes_inline(settings, monkeypatch):
    settings.DIAGNOSTICS_RUN_INLINE = True
    # What an operator sets on the workers: the Redis target names this variable.
    monkeypatch.setenv(REDIS_ENV, "redis://127.0.0.1:6379/12")


@pytest.fixture
def commander(make_user):
    return make_user(Role.COMMANDER, username="casey")


@pytest.fixture
def checkout(health_server):
    service = ServiceFactory(name="Checkout", slug="checkout")
    Target.objects.create(
        service=service,
        name="api",
        kind="http",
        config=validate_target_config("http", {"url": f"{health_server.url}/health"}),
    )
    Target.objects.create(
        service=service,
        name="cache",
        kind="redis",
        config=validate_target_config("redis", {"url_env": REDIS_ENV}),
    )
    return service


@pytest.fixture
def diagnosed(checkout, commander, health_server):
    """An incident whose runbook ran twice: healthy first (the baseline), then broken."""
    incident = incident_declare(
        title="Checkout answers 503",
        severity="P1",
        by=commander,
        commander=commander,
        services=[checkout],
        symptom="service_unavailable",  # declaring runs the runbook: the healthy baseline
    )
    assert Diagnosis.objects.get(incident=incident).finished
    health_server.broken()
    services.runbook_start(
        runbook=Runbook.objects.get(symptom="service_unavailable"),
        incident=incident,
        by=commander,
        trigger="started by casey",
    )
    return incident


def test_commander_reads_results_catalogue_and_runbooks_light_dark_and_phone(
    page, browser, live_server, commander, diagnosed, login_as, screenshot
):
    login_as(page, commander)
    page.goto(f"/incidents/{diagnosed.number}/")
    panel = page.locator("#panel-diagnostics")
    expect(panel).to_contain_text("Runbook: Service unavailable (503)")
    expect(panel.locator(".pstatus-critical").first).to_have_text("Critical")
    screenshot(page, "diagnostics-incident-panel")

    panel.get_by_role("link", name="All results →").click()
    expect(page.locator("h1")).to_contain_text("Diagnostics")
    latest = page.locator(".dx-set").first
    expect(latest.locator(".dx-set-title .pstatus")).to_have_text("Critical")
    health = latest.locator(".dx-step", has_text="Health endpoint")
    expect(health.locator(".dx-changes")).to_contain_text("Changed since the last OK run")
    expect(health.locator(".dx-changes")).to_contain_text("queue")  # the new failing check
    expect(health.locator("caption", has_text="Checks the endpoint reports")).to_have_count(2)
    expect(latest.locator(".dx-step", has_text="Redis memory")).to_be_visible()
    raw = health.locator("details.dx-raw").first
    expect(raw.locator("pre")).not_to_be_visible()  # raw output starts collapsed
    raw.locator("summary").click()
    expect(raw.locator("pre")).to_be_visible()
    screenshot(page, "diagnostics-incident-light")
    page.emulate_media(color_scheme="dark")
    screenshot(page, "diagnostics-incident-dark")
    page.emulate_media(color_scheme="light")

    page.goto("/diagnostics/")
    expect(page.locator("table")).to_contain_text(diagnosed.ref)
    screenshot(page, "diagnostics-index")

    page.goto("/diagnostics/probes/")
    expect(page.locator("#probe-http\\.health")).to_contain_text("latency_warning_ms")
    screenshot(page, "diagnostics-probes-light")
    page.emulate_media(color_scheme="dark")
    screenshot(page, "diagnostics-probes-dark")
    page.emulate_media(color_scheme="light")

    page.goto("/diagnostics/runbooks/")
    page.locator(".dx-runbook", has_text="Service unavailable (503)").get_by_role(
        "link", name=re.compile("^Edit")
    ).click()
    expect(page.locator("h1")).to_have_text("Edit runbook")
    first_params = page.get_by_label("Parameters").first
    first_params.fill('{"latency_warning_ms": ')
    page.get_by_role("button", name="Save runbook").click()
    expect(page.locator(".dx-step-form-invalid")).to_contain_text("Not valid JSON")
    screenshot(page, "diagnostics-runbook-editor-light")
    page.emulate_media(color_scheme="dark")
    screenshot(page, "diagnostics-runbook-editor-dark")
    page.emulate_media(color_scheme="light")
    page.get_by_label("Parameters").first.fill('{"latency_warning_ms": 800}')
    page.get_by_role("button", name="Save runbook").click()
    expect(page.locator(".message-success")).to_contain_text("saved")
    step = Runbook.objects.get(symptom="service_unavailable").steps.order_by("position").first()
    assert step.params == {"latency_warning_ms": 800}

    phone = browser.new_context(base_url=live_server.url, viewport=PHONE, locale="en-US")
    mobile = login_as(phone.new_page(), commander)
    mobile.goto(f"/diagnostics/incidents/{diagnosed.number}/")
    expect(mobile.locator(".dx-set").first).to_contain_text("Critical")
    width = mobile.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways on a phone ({width}px)"
    screenshot(mobile, "diagnostics-incident-mobile")
    phone.close()


@override_settings(REDIS_URL="")
def test_open_incident_page_receives_the_runbooks_results_live(
    page, commander, checkout, login_as, screenshot
):
    """Embedded setup (no channel layer): the page polls and appends each probe_result event."""
    incident = incident_declare(
        title="Checkout slow", severity="P2", by=commander, commander=commander, services=[checkout]
    )
    login_as(page, commander)
    page.goto(f"/incidents/{incident.number}/")
    expect(page.locator("#timeline")).to_have_attribute("data-poll", "1")
    events = page.locator("#timeline .event-probe_result")
    expect(events).to_have_count(0)
    page.evaluate("window.sameDocument = true")  # gone if the page reloads

    diagnosis = services.runbook_start(
        runbook=Runbook.objects.get(symptom="service_unavailable"),
        incident=incident,
        by=commander,
        trigger="started by casey",
    )
    runs = list(diagnosis.runs.order_by("position"))
    assert len(runs) == 2  # http.health on api, redis.memory on cache

    # started, one result per probe, the summary: in this order, without a reload.
    expect(events).to_have_count(len(runs) + 2, timeout=LIVE_TIMEOUT_MS)
    texts = events.all_inner_texts()
    assert "2 probes started" in texts[0]
    for text, run in zip(texts[1:-1], runs, strict=True):
        assert run.step_title in text and run.target_label in text
        assert run.get_status_display() in text  # the status as a word
    assert "Runbook: Service unavailable (503) finished" in texts[-1]
    assert page.evaluate("window.sameDocument") is True
    screenshot(page, "diagnostics-live-timeline")
