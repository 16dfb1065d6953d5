"""A commander attaches the "Database failure" recovery procedure to an incident in Chromium and
a responder's tick shows up as progress and on the timeline."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.permissions import Role
from incidents.models import TaskStatus, TimelineEvent
from incidents.services import incident_declare
from maintenance.models import AttachedProcedure
from tests.factories import ServiceFactory

pytestmark = pytest.mark.browser


def test_commander_attaches_database_failure_and_ticks_a_task(
    page, make_user, login_as, screenshot
):
    commander = make_user(Role.COMMANDER, username="casey")
    incident = incident_declare(
        title="Orders database refuses connections",
        severity="P2",
        by=commander,
        commander=commander,
        services=[ServiceFactory(name="Orders", slug="orders")],
    )
    login_as(page, commander)
    page.goto(f"/incidents/{incident.number}/")

    panel = page.locator("#panel-procedures")
    expect(panel).to_contain_text("No recovery procedure attached")
    panel.get_by_label("Procedure").select_option(label="Database failure")
    panel.get_by_role("button", name="Attach").click()

    expect(page.locator(".messages")).to_contain_text("“Database failure” attached: 6 tasks added.")
    procedure = page.locator("#panel-procedures .proc", has_text="Database failure")
    expect(procedure.locator(".proc-count")).to_have_text("0 of 6 tasks done")
    expect(page.locator(".event-task").last).to_contain_text(
        "Recovery procedure attached: Database failure (6 tasks)"
    )
    # The tasks land in their playbook steps too.
    expect(page.locator(".step", has_text="Assess")).to_contain_text(
        "Confirm the failure and its scope"
    )

    first = procedure.locator(".proc-task", has_text="Confirm the failure and its scope")
    first.get_by_text("What done looks like").click()
    expect(first).to_contain_text("Run the PostgreSQL probes")
    first.get_by_role("button", name="Done").click()

    procedure = page.locator("#panel-procedures .proc", has_text="Database failure")
    expect(procedure.locator(".proc-count")).to_have_text("1 of 6 tasks done")
    expect(
        procedure.locator(".proc-task-done", has_text="Confirm the failure and its scope")
    ).to_contain_text("done by")
    expect(page.locator(".event-task").last).to_contain_text(
        "Task completed: Confirm the failure and its scope"
    )
    page.locator("#panel-procedures").scroll_into_view_if_needed()
    screenshot(page, "recovery-procedure-attached")
    screenshot(page, "recovery-procedure-panel", full_page=False)

    attached = AttachedProcedure.objects.get(incident=incident)
    assert attached.tasks.filter(status=TaskStatus.DONE).count() == 1
    assert TimelineEvent.objects.filter(incident=incident, kind="task").count() == 2


def test_commander_adds_a_step_to_a_recovery_procedure(page, make_user, login_as, screenshot):
    commander = make_user(Role.COMMANDER, username="casey")
    login_as(page, commander)
    page.goto("/maintenance/templates/")
    expect(page.locator("#maintenance-h + .tpl-grid")).to_contain_text("Standard maintenance")
    screenshot(page, "checklist-templates")

    page.get_by_role("link", name="Edit Service failure").click()
    # Only the recovery fields are shown for a recovery procedure.
    expect(page.get_by_label("Playbook step").first).to_be_visible()
    expect(page.get_by_label("Phase").first).to_be_hidden()
    page.get_by_role("button", name="Add an item").click()
    row = page.locator(".tpl-item-form").last
    row.get_by_label("Title").fill("Check the circuit breakers")
    row.get_by_label("Playbook step").select_option("assess")
    row.get_by_label("Due after (min)").fill("15")
    row.get_by_label("What done looks like").fill("Open breakers are listed in a note.")
    screenshot(page, "checklist-template-editor")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator(".messages")).to_contain_text("“Service failure” saved.")
    expect(page.locator(".tpl-item", has_text="Check the circuit breakers")).to_contain_text(
        "due 15 min after attaching"
    )
    screenshot(page, "checklist-template-detail")
