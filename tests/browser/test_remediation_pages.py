"""Remediation in Chromium: from a probe finding on the incident page to a previewed, confirmed
and executed action whose steps arrive on the open incident timeline live; a second
commander's approval; a viewer who sees the actions but no buttons; a phone-sized action page.

The runbook's probe runs for real and inline (DIAGNOSTICS_RUN_INLINE): `http.health` against a
local HTTP server answering 503. The action is a real plug-in registered for these tests (kind
http, `test.browser_*`) that keeps its "target state" in a dict, so the pages are tested without
waiting on the real Kubernetes/PostgreSQL/Redis/Kafka actions. Preview and confirm happen in a
tab with JavaScript off: the pages work without it.
"""

from __future__ import annotations

import pytest
from django.test import override_settings
from playwright.sync_api import expect
from rest_framework import serializers

from accounts.permissions import Role
from catalog.models import Target
from catalog.target_configs import validate_target_config
from diagnostics import remediation
from diagnostics.actions import registry
from diagnostics.actions.base import Action, ActionResult, Change, Preview, Suggestion
from diagnostics.models import ActionRequest, ActionState
from incidents.services import incident_declare
from tests.browser.conftest import SCREENSHOT_DIR
from tests.diagnostics_web import conftest as diagnostics_conftest
from tests.factories import ServiceFactory

pytestmark = pytest.mark.browser
health_server = diagnostics_conftest.health_server  # the same fixture as the page tests
LIVE_TIMEOUT_MS = 10_000
PHONE = {"width": 390, "height": 844}
STATE = {"replicas": 3, "executions": 0}


class ScaleParams(serializers.Serializer):
    replicas = serializers.IntegerField(min_value=1, max_value=20, help_text="Replicas wanted.")


class BrowserScale(Action):
    name = "test.browser_scale"
    kind = "http"
    title = "Scale checkout-web"
    description = "Sets the replicas of the deployment behind the target (test plug-in)."
    params_class = ScaleParams
    suggested_by = ("http.health",)

    def preview(self, target, params, timeout_s):
        body = {"spec": {"replicas": params["replicas"]}}
        return Preview(
            summary=f"Scale deployment shop/checkout-web from {STATE['replicas']} to "
            f"{params['replicas']} replicas",
            changes=[
                Change("replicas of deployment checkout-web", STATE["replicas"], params["replicas"])
            ],
            details={
                "method": "PATCH",
                "path": "/apis/apps/v1/namespaces/shop/deployments/checkout-web/scale",
                "content_type": "application/merge-patch+json",
                "body": body,
            },
            warnings=["Pods start one by one: full capacity takes about a minute."],
            basis={"replicas": STATE["replicas"]},
        )

    def execute(self, target, params, preview, timeout_s, progress=None):
        STATE["executions"] += 1
        steps = []
        for step in (
            {"name": "patch scale", "ok": True, "summary": f"replicas set to {params['replicas']}"},
            {"name": "wait for rollout", "ok": True, "summary": "6 of 6 pods ready"},
        ):
            steps.append(step)
            if progress:
                progress(step)
        STATE["replicas"] = params["replicas"]
        return ActionResult(
            ok=True, summary=f"checkout-web runs {params['replicas']} replicas", steps=steps
        )

    def suggest(self, probe_name, result):
        if any(table["rows"] for table in result.get("tables", [])):
            return [Suggestion(self.name, "scale checkout-web to 6", {"replicas": 6})]
        return []


class BrowserRollback(BrowserScale):
    name = "test.browser_rollback"
    title = "Roll back checkout-web"
    approval_on_high_severity = True
    suggested_by = ()


@pytest.fixture(autouse=True)
def _actions_inline(settings):
    settings.DIAGNOSTICS_RUN_INLINE = True
    STATE.update(replicas=3, executions=0)
    for cls in (BrowserScale, BrowserRollback):
        registry.register(cls)
    yield
    for cls in (BrowserScale, BrowserRollback):
        registry._actions.pop(cls.name, None)


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
    return service


def declare(commander, checkout, severity="P2", **extra):
    return incident_declare(
        title="Checkout answers 503",
        severity=severity,
        by=commander,
        commander=commander,
        services=[checkout],
        **extra,
    )


def no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the page scrolls sideways ({width}px)"


@override_settings(REDIS_URL="")
def test_commander_goes_from_a_finding_to_an_executed_fix_seen_live_on_the_timeline(
    page, browser, live_server, commander, checkout, health_server, open_page, login_as, screenshot
):
    """Embedded setup (no channel layer): the incident page polls and appends the events."""
    health_server.broken()
    incident = declare(commander, checkout, symptom="service_unavailable")  # the runbook runs
    login_as(page, commander)
    page.goto(f"/incidents/{incident.number}/")
    expect(page.locator("#timeline")).to_have_attribute("data-poll", "1")
    events = page.locator("#timeline .event-remediation")
    expect(events).to_have_count(0)
    page.evaluate("window.sameDocument = true")  # gone if the page reloads

    # A second tab, JavaScript off: the finding's suggestion, the preview, the confirmation.
    tab = login_as(open_page(java_script_enabled=False), commander)
    tab.goto(f"/incidents/{incident.number}/")
    panel = tab.locator("#panel-diagnostics")
    panel.get_by_role("link", name="Preview: scale checkout-web to 6").click()
    expect(tab.locator("h1")).to_have_text("Preview: Scale checkout-web")
    expect(tab.get_by_label("Replicas")).to_have_value("6")
    expect(tab.locator(".dx-from-run")).to_contain_text("probe run #")
    tab.get_by_label("Why").fill("pool exhausted: more pods while the fix ships")
    screenshot(tab, "remediation-form")
    tab.get_by_role("button", name="Preview").click()

    expect(tab.locator(".message-success")).to_contain_text("Previewed: nothing has changed yet")
    expect(tab.locator("h1 .astate")).to_have_text("Previewed")
    changes = tab.locator(".dx-action-preview .dx-action-changes")
    expect(changes.locator("tbody tr")).to_have_text(
        ["replicas of deployment checkout-web 3 6"], use_inner_text=True
    )
    expect(tab.locator(".dx-details")).to_contain_text('"replicas": 6')
    expect(tab.locator(".dx-people")).to_contain_text("preview valid until")
    assert STATE["executions"] == 0
    action = ActionRequest.objects.get()
    assert action.preview_token_digest and "token" not in tab.url
    screenshot(tab, "remediation-preview-light")
    tab.emulate_media(color_scheme="dark")
    screenshot(tab, "remediation-preview-dark")
    tab.emulate_media(color_scheme="light")

    tab.get_by_role("button", name="Confirm and run").click()
    expect(tab.locator(".message-success")).to_have_text("Done: checkout-web runs 6 replicas")
    expect(tab.locator("h1 .astate")).to_have_text("Done")
    steps = tab.locator(".dx-action-steps li")
    expect(steps).to_have_count(2)
    expect(steps.first).to_contain_text("OK patch scale: replicas set to 6")
    expect(tab.locator(".dx-people")).to_contain_text(f"Confirmed by {commander.display_name}")
    assert STATE["executions"] == 1
    screenshot(tab, "remediation-done")

    # The open incident page received every phase, in order, without a reload.
    expect(events).to_have_count(6, timeout=LIVE_TIMEOUT_MS)
    words = [text.split()[0] for text in events.locator(".dx-event-line").all_inner_texts()]
    assert words == ["Previewed", "Requested", "Started", "Step", "Step", "Done"]
    expect(events.nth(1).locator(".dx-action-changes")).to_contain_text("checkout-web")
    expect(events.nth(3)).to_contain_text("patch scale: replicas set to 6")
    expect(events.last).to_contain_text("Done: checkout-web runs 6 replicas")
    assert page.evaluate("window.sameDocument") is True
    screenshot(page, "remediation-live-timeline")

    page.reload()
    panel = page.locator("#panel-diagnostics")
    expect(panel.locator(".dx-action-row")).to_contain_text("Done")
    panel.scroll_into_view_if_needed()
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    panel.screenshot(path=str(SCREENSHOT_DIR / "remediation-incident-panel.png"))
    panel.locator(".dx-action-row a").first.click()
    expect(page.locator("h1")).to_contain_text("Scale checkout-web")

    phone = browser.new_context(base_url=live_server.url, viewport=PHONE, locale="en-US")
    mobile = login_as(phone.new_page(), commander)
    mobile.goto(f"/diagnostics/actions/{action.pk}/")
    expect(mobile.locator(".dx-action-steps li")).to_have_count(2)
    no_sideways_scroll(mobile)
    screenshot(mobile, "remediation-action-mobile")
    phone.close()


def test_a_second_commander_approves_a_rollback_on_a_p1(
    page, browser, live_server, make_user, commander, checkout, login_as, screenshot
):
    incident = declare(commander, checkout, severity="P1")
    login_as(page, commander)
    page.goto(f"/incidents/{incident.number}/")
    page.locator("#panel-diagnostics").get_by_role("link", name="Remediate…").click()
    screenshot(page, "remediation-choose")
    choice = page.locator(".dx-action-choice", has_text="Roll back checkout-web")
    choice.get_by_role("link", name="Checkout / api").click()
    page.get_by_label("Replicas").fill("4")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(".dx-decision")).to_contain_text("Confirming asks a second commander")
    page.get_by_role("button", name="Confirm and run").click()
    expect(page.locator("h1 .astate")).to_have_text("Awaiting approval")
    expect(page.locator(".dx-approval-note")).to_contain_text("A second commander must approve")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    screenshot(page, "remediation-awaiting-approval")
    assert STATE["executions"] == 0

    second = make_user(Role.COMMANDER, username="cole")
    other_context = browser.new_context(base_url=live_server.url, locale="en-US")
    other = login_as(other_context.new_page(), second)
    other.goto(page.url)
    other.get_by_role("button", name="Approve").click()
    expect(other.locator(".message-success")).to_contain_text("Done: checkout-web runs 4")
    expect(other.locator(".dx-people")).to_contain_text(f"Approved by {second.display_name}")
    other_context.close()
    assert STATE["executions"] == 1
    assert ActionRequest.objects.get().state == ActionState.DONE


def test_a_viewer_sees_actions_but_no_action_buttons(
    page, make_user, commander, checkout, health_server, login_as
):
    health_server.broken()
    incident = declare(commander, checkout, severity="P1", symptom="service_unavailable")
    issued = remediation.action_preview(
        incident=incident,
        action="test.browser_rollback",
        target=checkout.targets.get(),
        params={"replicas": 2},
        by=commander,
    )
    remediation.action_confirm(request=issued.request, token=issued.token, by=commander)
    viewer = make_user(Role.VIEWER, username="vera")
    login_as(page, viewer)
    page.goto(f"/incidents/{incident.number}/")
    panel = page.locator("#panel-diagnostics")
    expect(panel.locator(".dx-action-row")).to_contain_text("Awaiting approval")
    expect(panel.get_by_role("link", name="Remediate…")).to_have_count(0)
    expect(panel.locator(".dx-suggestion")).to_have_count(0)
    panel.locator(".dx-action-row a").first.click()
    expect(page.locator("h1 .astate")).to_have_text("Awaiting approval")
    for name in ("Confirm and run", "Approve", "Reject", "Preview again"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
