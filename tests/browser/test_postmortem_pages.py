"""A commander resolves an incident, then writes and publishes its postmortem in Chromium: the
timeline is waiting, curated in place, an action item is added, and review leads to a frozen
revision 1."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.permissions import Role
from incidents.models import TimelineEvent
from incidents.services import incident_declare, incident_transition, public_update_post
from postmortems.models import ActionItem, Postmortem, PostmortemRevision, PostmortemState
from tests.factories import ServiceFactory

pytestmark = pytest.mark.browser


def _incident_in_mitigation(commander, responder):
    """A P1 worked for an hour: acknowledged, investigated, a public update, mitigating."""
    start = timezone.now() - timedelta(hours=1)
    incident = incident_declare(
        title="Checkout returns 503 for EU customers",
        severity="P1",
        by=commander,
        commander=commander,
        services=[ServiceFactory(name="Checkout", slug="checkout")],
        now=start,
    )
    incident_transition(
        incident=incident, to="acknowledged", by=responder, now=start + timedelta(minutes=4)
    )
    incident_transition(
        incident=incident, to="investigating", by=commander, now=start + timedelta(minutes=9)
    )
    public_update_post(
        incident=incident,
        status="identified",
        body="Some payments fail; we are rolling back a release.",
        by=commander,
        now=start + timedelta(minutes=15),
    )
    incident_transition(
        incident=incident,
        to="mitigating",
        by=commander,
        waiver="The deploy diff makes the cause obvious.",
        now=start + timedelta(minutes=21),
    )
    return incident


def test_commander_writes_and_publishes_a_postmortem(page, make_user, login_as, screenshot):
    commander = make_user(Role.COMMANDER, username="casey", first_name="Casey")
    responder = make_user(Role.RESPONDER, username="rhea", first_name="Rhea")
    incident = _incident_in_mitigation(commander, responder)
    login_as(page, commander)

    # Resolving creates the postmortem (P1 requires one); the incident page links to it.
    page.goto(f"/incidents/{incident.number}/")
    page.locator("[data-transition='resolved']").click()
    expect(page.locator(".messages")).to_contain_text("is now resolved")
    panel = page.locator("#panel-postmortem")
    expect(panel).to_contain_text("Draft")
    expect(panel).to_contain_text("due in 2 d")
    expect(panel).to_contain_text("owner Casey")
    panel.scroll_into_view_if_needed()
    screenshot(page, "postmortem-incident-panel", full_page=False)
    panel.get_by_role("link", name="Open the postmortem").click()
    postmortem = Postmortem.objects.get(incident=incident)
    expect(page).to_have_url(re.compile(rf"/postmortems/{postmortem.pk}/$"))
    expect(page.locator("#section-root_cause")).to_contain_text("The underlying cause")

    # Write the summary and the root cause.
    page.locator(".pm-actions").get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Summary", exact=True).fill(
        "Release 4.2 halved the checkout service's database pool. For 50 minutes about "
        "**12% of EU checkouts** failed with a 503."
    )
    page.get_by_label("Root cause", exact=True).fill(
        "The pool size moved into a shared config file whose default was meant for batch jobs."
    )
    page.get_by_label("Affected users").fill("~12% of EU checkouts")
    screenshot(page, "postmortem-edit")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("Postmortem saved.")
    expect(page.locator("#section-summary strong")).to_have_text("12% of EU checkouts")

    # Curate the generated timeline in place (htmx); the incident's own timeline stays as it is.
    events_before = TimelineEvent.objects.filter(incident=incident).count()
    timeline = page.locator("#pm-timeline")
    investigating = timeline.locator(".pm-event", has_text="Status → investigating")
    investigating.get_by_role("button", name=re.compile("^Hide")).click()
    expect(timeline.locator(".pm-event-hidden")).to_contain_text("Status → investigating")
    mitigating = timeline.locator(".pm-event", has_text="Status → mitigating")
    mitigating.get_by_text("Annotate").click()
    mitigating.get_by_label("Annotation").fill("Rollback chosen over a config hotfix: faster.")
    mitigating.get_by_role("button", name="Save annotation").click()
    expect(timeline.locator(".pm-annotation")).to_have_text(
        "Annotation: Rollback chosen over a config hotfix: faster."
    )
    assert TimelineEvent.objects.filter(incident=incident).count() == events_before
    screenshot(page, "postmortem-draft")

    # An action item.
    add = page.locator("#item-add")
    add.get_by_label("Title").fill("Alert when the DB pool is over 80% for 5 minutes")
    add.get_by_label("Owner").select_option(label="rhea")
    add.get_by_label("Due date").fill((timezone.localdate() + timedelta(days=14)).isoformat())
    add.get_by_label("Priority").select_option("high")
    add.get_by_label("Ticket link").fill("https://tracker.example.com/OPS-1234")
    add.get_by_role("button", name="Add action item").click()
    expect(page.locator(".messages")).to_contain_text("Action item added")
    expect(page.locator("#action-items tbody tr")).to_have_count(1)
    expect(page.locator("#action-items")).to_contain_text("1 open of 1")

    # Review and publish.
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator(".messages")).to_contain_text("Submitted for review.")
    page.get_by_role("button", name="Mark reviewed").click()
    expect(page.locator(".pm-actions")).to_contain_text("Reviewed by Casey")
    page.get_by_role("button", name="Publish").click()
    expect(page.locator(".messages")).to_contain_text("Revision 1 published.")
    expect(page.locator(".pm-header .pmstate")).to_have_text("Published")
    expect(page.locator(".pm-frozen-note")).to_contain_text("Published, revision 1.")
    expect(page.get_by_role("link", name="Edit (opens revision 2)")).to_be_visible()
    expect(page.locator("#pm-timeline")).not_to_contain_text("Status → investigating")
    expect(page.locator("#pm-timeline .pm-annotation")).to_contain_text("Rollback chosen")
    expect(page.locator(".pm-revisions")).to_contain_text("Revision 1")
    screenshot(page, "postmortem-published")

    postmortem.refresh_from_db()
    assert postmortem.state == PostmortemState.PUBLISHED
    revision = PostmortemRevision.objects.get(postmortem=postmortem, number=1)
    assert revision.content["affected_users"] == "~12% of EU checkouts"
    assert [row["title"] for row in revision.content["action_items"]] == [
        "Alert when the DB pool is over 80% for 5 minutes"
    ]

    page.locator(".pm-revisions").get_by_role("link", name="Revision 1").click()
    expect(page.locator(".pm-frozen-note")).to_contain_text("Revision 1, read-only.")
    expect(page.locator("#section-summary")).to_contain_text("Release 4.2 halved")
    screenshot(page, "postmortem-revision-1")
    page.locator(".breadcrumbs").get_by_role("link", name="Postmortems").click()
    expect(page.locator(".pm-table tbody tr", has_text=incident.ref)).to_contain_text(
        "published on time"
    )
    screenshot(page, "postmortem-list")
    page.locator(".pm-subnav").get_by_role("link", name="Action items").click()
    row = page.locator("tbody tr", has_text="Alert when the DB pool")
    expect(row).to_contain_text(incident.ref)
    expect(row).to_contain_text("High")
    expect(page.locator(".pm-per-service")).to_contain_text("Checkout")
    screenshot(page, "postmortem-action-items")
    assert ActionItem.objects.get().owner == responder


def test_curation_works_without_javascript(open_page, make_user, login_as, live_server):
    commander = make_user(Role.COMMANDER, username="casey")
    responder = make_user(Role.RESPONDER, username="rhea")
    incident = _incident_in_mitigation(commander, responder)
    incident_transition(incident=incident, to="resolved", by=commander)
    page = login_as(open_page(java_script_enabled=False), responder)
    postmortem = Postmortem.objects.get(incident=incident)
    page.goto(f"/postmortems/{postmortem.pk}/")
    event = page.locator(".pm-event", has_text="Public update")
    event.get_by_role("button", name=re.compile("^Hide")).click()
    expect(page).to_have_url(re.compile(r"#event-\d+$"))
    expect(page.locator(".pm-event-hidden")).to_contain_text("Public update")
    expect(page.locator(".pm-event-hidden")).to_contain_text("hidden from the postmortem")
