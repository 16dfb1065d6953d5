"""A viewer opens a published postmortem's print page in Chromium and prints it: on screen the
toolbar offers the Markdown download; in print media the toolbar is gone, the body is serif,
external links show their URL, and the header names the incident and revision. Screenshots of
both media (and a PDF) land under tests/screenshots/."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from accounts.permissions import Role
from postmortems import services
from tests.factories import ServiceFactory
from tests.postmortems.export_support import (
    public_update,
    publish,
    resolved_incident,
    with_action_items,
    written_postmortem,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def published(make_user, without_evidence_gates):
    cora = make_user(Role.COMMANDER, username="cora", first_name="Cora")
    incident = resolved_incident(
        by=cora,
        services_=[ServiceFactory(name="Checkout API"), ServiceFactory(name="Orders database")],
    )
    public_update(incident, "Checkout is failing for some customers; we are on it.", minutes=45)
    wrong = public_update(incident, "Posted to the wrong incident.", minutes=46)
    fixed = public_update(incident, "Checkout works again; we keep watching.", minutes=50)
    postmortem = written_postmortem(incident, by=cora)
    services.curation_set(postmortem=postmortem, event=wrong, by=cora, hidden=True)
    services.curation_set(
        postmortem=postmortem,
        event=fixed,
        by=cora,
        annotation="Errors were back to baseline **6 minutes** before this update went out.",
    )
    with_action_items(
        postmortem,
        by=cora,
        owner=cora,
        titles=(
            "Page on connection-pool saturation above 80%",
            "Canary at 10% traffic for checkout",
            "Status page update within 5 minutes | runbook step",
        ),
    )
    return publish(postmortem, by=cora)


def test_viewer_prints_a_published_postmortem(
    page: Page, make_user, login_as, screenshot, published
):
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    login_as(page, make_user(Role.VIEWER, username="vera"))
    ref = published.incident.ref

    page.goto(reverse("postmortems:print", args=[published.pk]))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Checkout returns 503")
    toolbar = page.get_by_role("navigation", name="Export")
    expect(toolbar.get_by_role("link", name="Download Markdown")).to_have_attribute(
        "href", f"/postmortems/{published.pk}/export.md?revision=1"
    )
    expect(toolbar.get_by_role("button", name="Print")).to_be_visible()
    screenshot(page, "postmortem-print-screen")

    page.emulate_media(media="print")
    expect(toolbar).to_be_hidden()
    expect(page.locator(".running-header")).to_contain_text(f"{ref} · Postmortem")
    expect(page.locator(".running-header")).to_contain_text("Revision 1 · published")
    font = page.locator("body").evaluate("el => getComputedStyle(el).fontFamily")
    assert "serif" in font and "sans-serif" not in font.replace("DejaVu Serif", "")
    link_after = page.locator(".prose a[href^='https://runbooks']").evaluate(
        "el => getComputedStyle(el, '::after').content"
    )
    assert "https://runbooks.example.com/checkout" in link_after
    timeline = page.locator(".timeline")
    expect(timeline).not_to_contain_text("wrong incident")
    expect(timeline.locator("blockquote")).to_contain_text("6 minutes")
    expect(page.locator(".actions tbody tr")).to_have_count(3)
    screenshot(page, "postmortem-print")
    page.pdf(path=str(screenshot(page, "postmortem-print").with_suffix(".pdf")), format="A4")
    assert errors == []
