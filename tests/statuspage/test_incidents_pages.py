"""Incidents on the public pages: unresolved ones on /status/, an incident's own page, and the
monthly history with its completed maintenance; escaping, 404s and bad months."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from maintenance.models import WindowState
from tests.factories import ServiceFactory, ServiceGroupFactory
from tests.statuspage.incident_support import MINUTE, T0, declare, note, publish
from tests.statuspage.support import HOUR, announce, make_window, move

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "viewer", "responder", "commander", "admin"]
HOME = "/status/"
HISTORY = "/status/history/"


def page(client, url=HOME) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"] == "text/html; charset=utf-8"
    return response.content.decode()


def incident_url(incident) -> str:
    return reverse("statuspage:incident", args=[incident.number])


@pytest.fixture
def catalog():
    core = ServiceGroupFactory(name="Core", position=1)
    return {
        "api": ServiceFactory(name="Public API", group=core),
        "db": ServiceFactory(name="Orders DB", group=core, component_name="Orders"),
    }


def test_the_incident_urls_are_the_shortlink_and_history_paths():
    assert reverse("statuspage:incident", args=[42]) == "/status/incidents/INC-42/"
    assert reverse("statuspage:history") == HISTORY
    assert reverse("statuspage:history-atom") == "/history.atom"
    assert reverse("statuspage:history-rss") == "/history.rss"


@pytest.mark.parametrize("persona", ROLES, indirect=True)
def test_everyone_reads_incident_and_history_pages(client, persona, catalog):
    incident = declare(services=[catalog["api"]])
    publish(incident, "Looking.")
    if persona is not None:
        client.force_login(persona)
    for url in (incident_url(incident), HISTORY, f"{HISTORY}?month=2025-03"):
        assert client.get(url).status_code == 200, url


def test_unresolved_incidents_come_above_maintenance_with_updates_newest_first(client, catalog):
    window = make_window([catalog["db"]], title="Disk swap", start=timezone.now() - HOUR)
    move(window, WindowState.IN_PROGRESS)
    incident = declare(public_title="Checkout errors", severity="P1", services=[catalog["api"]])
    publish(incident, "We are *investigating*.", now=T0, component_status="partial_outage")
    publish(incident, "Root cause identified.", status="identified", now=T0 + MINUTE)
    resolved = declare(public_title="Yesterday's blip")
    publish(resolved, "Blip.", now=T0 - HOUR)
    publish(resolved, "Gone.", status="resolved", now=T0 - HOUR + MINUTE)

    html = page(client)
    assert "Partial System Outage" in html and "sp-indicator-major" in html
    assert html.index("Active incidents") < html.index("Checkout errors")
    assert html.index("Checkout errors") < html.index("Maintenance in progress")
    assert html.index("Root cause identified.") < html.index("<em>investigating</em>")
    assert "Identified" in html and "Major impact" in html
    assert incident_url(incident) in html
    assert "Yesterday&#x27;s blip" not in html and "Yesterday's blip" not in html


def test_no_incident_section_when_none_is_open(client, catalog):
    assert "Active incidents" not in page(client)


def test_an_incident_page_shows_every_public_update_and_nothing_internal(client, catalog):
    incident = declare(
        title="db01 disk full",
        public_title="Orders are delayed",
        services=[catalog["db"]],
        impact_summary="ZZ internal impact",
    )
    publish(incident, "Investigating.", now=T0, component_status="major_outage")
    note(incident, "ZZ internal note", now=T0 + MINUTE)
    publish(incident, "Fixed.", status="monitoring", now=T0 + 2 * MINUTE)
    publish(incident, "Resolved.", status="resolved", now=T0 + 3 * MINUTE)
    html = page(client, incident_url(incident))
    assert '<h1 id="sp-title">Orders are delayed</h1>' in html
    assert html.index("Resolved.") < html.index("Fixed.") < html.index("Investigating.")
    for n in (1, 2, 3):
        assert f'id="INC-{incident.number}-{n}"' in html
    assert "Incident · Major impact" in html
    assert "Orders" in html and "Major outage" in html
    assert "db01" not in html and "ZZ internal" not in html
    assert "Fri 14 Mar 2025, 09:00</time>" in html
    assert ">09:03</time>" in html  # resolved the same day: the end without the date


def test_never_published_and_unknown_incidents_are_not_found(client):
    quiet = declare(title="Still internal")
    note(quiet, "nothing public yet")
    assert client.get(incident_url(quiet)).status_code == 404
    assert client.get("/status/incidents/INC-99999/").status_code == 404
    assert client.get("/status/incidents/42/").status_code == 404


def test_history_lists_the_months_incidents_and_completed_maintenance(client, catalog):
    march = declare(public_title="March outage", severity="P0")
    publish(march, "Down.", now=T0)
    publish(march, "Back up.", status="resolved", now=T0 + 20 * MINUTE)
    february = declare(public_title="February slowness")
    publish(february, "Slow.", now=datetime(2025, 2, 28, 23, 59, tzinfo=UTC))
    window = make_window([catalog["db"]], title="March upgrade", start=T0)
    move(window, WindowState.IN_PROGRESS, at=T0)
    move(window, WindowState.COMPLETED, at=T0 + HOUR)
    april = make_window([catalog["db"]], title="April upgrade", start=T0)
    move(april, WindowState.IN_PROGRESS, at=T0)
    move(april, WindowState.COMPLETED, at=datetime(2025, 4, 1, tzinfo=UTC))

    html = page(client, f"{HISTORY}?month=2025-03")
    assert "March 2025" in html
    assert "March outage" in html and "Back up." in html and "Critical impact" in html
    assert "March upgrade" in html
    assert "February slowness" not in html and "April upgrade" not in html
    assert '?month=2025-02" rel="prev"' in html and '?month=2025-04" rel="next"' in html
    assert incident_url(march) in html

    february_html = page(client, f"{HISTORY}?month=2025-02")
    assert "February slowness" in february_html and "March outage" not in february_html
    assert "No maintenance completed in February 2025." in february_html


def test_history_defaults_to_this_month_without_a_next_link(client):
    now = timezone.now()
    incident = declare(public_title="Happening now")
    publish(incident, "Looking.", now=now)
    html = page(client, HISTORY)
    assert now.strftime("%B %Y") in html and "Happening now" in html
    assert 'rel="next"' not in html and 'rel="prev"' in html
    assert html == page(client, f"{HISTORY}?month={now:%Y-%m}")


def test_an_empty_month_says_so(client):
    html = page(client, f"{HISTORY}?month=2024-07")
    assert "No incidents reported in July 2024." in html


@pytest.mark.parametrize(
    "month", ["2025-13", "2025-00", "25-03", "2025-3", "march", "1999-12", "9999-01", ""]
)
def test_a_bad_month_is_a_400_with_a_machine_readable_body(client, month):
    response = client.get(HISTORY, {"month": month})
    assert response.status_code == 400
    assert response.json()["type"] == "invalid_month"


XSS = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


def test_incident_titles_and_updates_are_escaped_or_sanitized(client, catalog):
    incident = declare(public_title=f"Title {XSS}", services=[catalog["api"]])
    publish(incident, f"Update {XSS} [link](javascript:alert(3)) <a onclick='y'>a</a>", now=T0)
    for url in (HOME, incident_url(incident), f"{HISTORY}?month=2025-03"):
        html = page(client, url)
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "javascript:" not in html and "onclick" not in html
        assert "Title &lt;img" in html


def test_incident_pages_are_cached_and_change_with_a_new_update(client, django_assert_num_queries):
    incident = declare()
    publish(incident, "First.", now=T0)
    url = incident_url(incident)
    first = client.get(url)
    with django_assert_num_queries(0):
        assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    publish(incident, "Second.", status="identified", now=T0 + MINUTE)
    assert "Second." in page(client, url)
    assert "Second." in page(client, f"{HISTORY}?month=2025-03")


def test_maintenance_updates_have_anchors_for_the_feed(client, catalog):
    window = make_window([catalog["db"]])
    event = announce(window, "Planned.")
    html = page(client, reverse("statuspage:maintenance", args=[window.pk]))
    assert f'id="MW-{window.pk}-{event.seq}"' in html


def test_the_footer_links_history_and_feeds(client):
    html = page(client)
    assert f'href="{HISTORY}"' in html
    assert 'type="application/atom+xml" href="/history.atom"' in html
    assert 'href="/history.rss"' in html
