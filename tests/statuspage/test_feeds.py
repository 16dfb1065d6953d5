"""The public history feeds /history.atom and /history.rss: valid XML of the right kind, public
incident and maintenance updates newest first, stable ids, links to the public pages, bounded,
cached with ETags, CORS for GET; nothing internal."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from email.utils import parsedate_to_datetime

import pytest
from django.urls import reverse

from maintenance.models import WindowState
from ops_portal.timeline import Visibility
from tests.factories import ServiceFactory
from tests.statuspage.incident_support import MINUTE, T0, declare, note, publish
from tests.statuspage.support import announce, make_window, move

pytestmark = pytest.mark.django_db

ATOM = "/history.atom"
RSS = "/history.rss"
NS = {"atom": "http://www.w3.org/2005/Atom"}


def atom_entries(client):
    response = client.get(ATOM)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/atom+xml; charset=utf-8"
    root = ET.fromstring(response.content)
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    return root, root.findall("atom:entry", NS)


def rss_items(client):
    response = client.get(RSS)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/rss+xml; charset=utf-8"
    root = ET.fromstring(response.content)
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    return channel, channel.findall("item")


@pytest.fixture
def story(settings):
    """An incident with two public updates and a note, a window with public and internal log
    entries, an internal and a cancelled window, at known times."""
    settings.PUBLIC_BASE_URL = "https://status.example.com"
    db = ServiceFactory(name="Orders DB")
    incident = declare(public_title="Checkout errors", title="db01 swap storm", services=[db])
    publish(incident, "Investigating.", now=T0)
    note(incident, "internal: db01", now=T0 + MINUTE)
    publish(incident, "Fixed, **watching**.", status="monitoring", now=T0 + 3 * MINUTE)
    window = make_window([db], title="Disk swap", start=T0)
    # Log entries are stamped "now" by the maintenance code; put them at known times.
    announce(window, "Planned disk swap.")
    window.events.filter(seq=1).update(created_at=T0 + MINUTE)
    move(window, WindowState.IN_PROGRESS, body="Swapping disks.", at=T0 + 2 * MINUTE)
    window.events.filter(seq=2).update(created_at=T0 + 2 * MINUTE)
    announce(window, "internal checklist", visibility=Visibility.INTERNAL)
    hidden = make_window([db], title="Secret window", public=False)
    announce(hidden, "Secret window entry.")
    cancelled = make_window([db], title="Called off")
    announce(cancelled, "Called off entry.")
    move(cancelled, WindowState.CANCELLED)
    for event in (hidden.events.all(), cancelled.events.all()):
        event.update(created_at=T0 + 10 * MINUTE)  # newest of all, yet never shown
    return {"incident": incident, "window": window}


def test_the_atom_feed_lists_public_updates_newest_first_with_stable_ids(client, story):
    feed, entries = atom_entries(client)
    number, window = story["incident"].number, story["window"]
    assert feed.find("atom:title", NS).text == "Ops Portal status history"
    assert (
        feed.find("atom:link[@rel='self']", NS).get("href")
        == "https://status.example.com/history.atom"
    )
    titles = [e.find("atom:title", NS).text for e in entries]
    assert titles == [
        "Checkout errors — Monitoring",
        "Disk swap — In progress",
        "Disk swap — Scheduled",
        "Checkout errors — Investigating",
    ]
    incident_page = f"https://status.example.com/status/incidents/INC-{number}/"
    window_page = f"https://status.example.com{reverse('statuspage:maintenance', args=[window.pk])}"
    assert [e.find("atom:id", NS).text for e in entries] == [
        f"{incident_page}#INC-{number}-2",
        f"{window_page}#MW-{window.pk}-2",
        f"{window_page}#MW-{window.pk}-1",
        f"{incident_page}#INC-{number}-1",
    ]
    for entry in entries:
        link = entry.find("atom:link", NS)
        assert link.get("rel") == "alternate"
        assert link.get("href") == entry.find("atom:id", NS).text
        updated = datetime.fromisoformat(entry.find("atom:updated", NS).text)
        assert updated.tzinfo is not None
    assert datetime.fromisoformat(entries[0].find("atom:updated", NS).text) == T0 + 3 * MINUTE
    assert datetime.fromisoformat(feed.find("atom:updated", NS).text) == T0 + 3 * MINUTE
    summary = entries[0].find("atom:summary", NS)
    assert summary.get("type") == "html" and "<strong>watching</strong>" in summary.text
    # The ids do not change when the feed is rebuilt.
    client.get("/status/")  # unrelated read
    _, again = atom_entries(client)
    assert [e.find("atom:id", NS).text for e in again] == [
        e.find("atom:id", NS).text for e in entries
    ]


def test_the_rss_feed_has_the_same_entries(client, story):
    channel, items = rss_items(client)
    assert channel.find("link").text == "https://status.example.com/status/"
    _, entries = atom_entries(client)
    assert [i.find("title").text for i in items] == [e.find("atom:title", NS).text for e in entries]
    for item in items:
        guid = item.find("guid")
        assert guid.get("isPermaLink") == "true" and guid.text == item.find("link").text
        assert parsedate_to_datetime(item.find("pubDate").text).tzinfo is not None
    assert parsedate_to_datetime(items[0].find("pubDate").text) == T0 + 3 * MINUTE


def test_the_feeds_carry_nothing_internal(client, story):
    for path in (ATOM, RSS):
        text = client.get(path).content.decode()
        for secret in ("db01", "internal", "Secret window", "Called off"):
            assert secret not in text, (path, secret)


def test_the_feeds_are_bounded_to_fifty_entries(client):
    incident = declare()
    for n in range(55):
        publish(incident, f"Update {n}.", now=T0 + n * MINUTE)
    _, entries = atom_entries(client)
    assert len(entries) == 50
    assert entries[0].find("atom:title", NS).text.endswith("Investigating")
    assert "Update 54." in entries[0].find("atom:summary", NS).text
    _, items = rss_items(client)
    assert len(items) == 50


def test_an_empty_feed_is_still_valid(client):
    _, entries = atom_entries(client)
    _, items = rss_items(client)
    assert entries == [] and items == []


@pytest.mark.parametrize("path", [ATOM, RSS])
def test_feeds_are_cached_conditional_and_open_to_any_origin(
    client, path, django_assert_num_queries
):
    incident = declare()
    publish(incident, "First.", now=T0)
    first = client.get(path, HTTP_ORIGIN="https://reader.example.org")
    assert first["Access-Control-Allow-Origin"] == "*"
    assert first["Cache-Control"] == "public, max-age=10"
    assert not first.cookies
    with django_assert_num_queries(0):
        assert client.get(path, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    publish(incident, "Second.", status="identified", now=T0 + MINUTE)
    changed = client.get(path, HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200 and "Second." in changed.content.decode()


@pytest.mark.parametrize("path", [ATOM, RSS])
def test_feeds_refuse_writes(client, path):
    response = client.post(path)
    assert response.status_code == 405 and response["Allow"] == "GET, HEAD"


def test_feed_titles_and_bodies_are_escaped_xml(client):
    incident = declare(public_title="<script>alert(1)</script> & co")
    publish(incident, "<img src=x onerror=alert(2)> body", now=T0)
    _, entries = atom_entries(client)  # parses: the markup is escaped, not raw XML
    assert entries[0].find("atom:title", NS).text.startswith("<script>alert(1)</script> & co")
    assert "onerror" not in entries[0].find("atom:summary", NS).text
