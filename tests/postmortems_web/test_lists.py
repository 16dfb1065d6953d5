"""The postmortem list and the global action items page: columns, filters, ordering, the
per-service counts, and query counts that do not grow with the rows."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.permissions import Role
from incidents.models import EventKind
from incidents.services import note_add
from postmortems import services
from tests.factories import ServiceFactory

from .support import published

pytestmark = pytest.mark.django_db


def get(client, user, url_name, params=None) -> str:
    client.force_login(user)
    response = client.get(reverse(url_name), params or {})
    assert response.status_code == 200
    return response.content.decode()


def rows(html: str) -> list[str]:
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    return re.findall(r"<tr.*?</tr>", body.group(1), re.S) if body else []


# --- Postmortems ------------------------------------------------------------------------------


def test_the_list_shows_incident_owner_state_due_revision_and_items(
    client, viewer, commander, postmortem
):
    services.action_item_create(postmortem=postmortem, title="One", by=commander)
    done = services.action_item_create(postmortem=postmortem, title="Two", by=commander)
    services.action_item_set_status(item=done, status="done", by=commander)
    services.postmortem_update(
        postmortem=postmortem, by=commander, due_at=timezone.now() + timedelta(hours=5, minutes=2)
    )
    [row] = rows(get(client, viewer, "postmortems:list"))
    incident = postmortem.incident
    assert incident.ref in row and "Checkout returns 503" in row
    assert 'class="sev sev-p1"' in row and commander.display_name in row
    assert "pmstate-draft" in row and "due in 5 h" in row
    assert '<span class="strong">1</span> open / 2' in row
    assert 'data-label="Revision">1<' in row


def test_overdue_postmortems_are_highlighted_and_listed_first(client, viewer, commander, resolved):
    later = services.postmortem_create(incident=resolved(title="Later one"), by=commander)
    late = services.postmortem_create(incident=resolved(title="Late one"), by=commander)
    services.postmortem_update(
        postmortem=late, by=commander, due_at=timezone.now() - timedelta(hours=3)
    )
    first, second = rows(get(client, viewer, "postmortems:list"))
    assert "Late one" in first and "pm-row-overdue" in first and "overdue by 3 h" in first
    assert "Later one" in second and "pm-row-overdue" not in second
    assert later.pk != late.pk


def test_filters_by_state_owner_and_overdue(client, commander, make_user, resolved):
    other = make_user(Role.COMMANDER, username="olga")
    mine = services.postmortem_create(incident=resolved(title="Mine"), by=commander)
    theirs = services.postmortem_create(incident=resolved(title="Theirs"), by=commander)
    services.postmortem_update(postmortem=theirs, by=commander, owner=other)
    shipped = services.postmortem_create(incident=resolved(title="Shipped"), by=commander)
    published(shipped, commander)
    services.postmortem_update(
        postmortem=mine, by=commander, due_at=timezone.now() - timedelta(hours=1)
    )

    def titles(params):
        return {
            title
            for title in ("Mine", "Theirs", "Shipped")
            if f">{title}<" in get(client, commander, "postmortems:list", params)
        }

    assert titles({}) == {"Mine", "Theirs", "Shipped"}
    assert titles({"state": "published"}) == {"Shipped"}
    assert titles({"state": "draft"}) == {"Mine", "Theirs"}
    assert titles({"mine": "on"}) == {"Mine", "Shipped"}
    assert titles({"overdue": "on"}) == {"Mine"}
    client.force_login(commander)
    assert client.get(reverse("postmortems:list"), {"state": "lost"}).status_code == 400


def test_published_rows_say_whether_they_were_on_time(client, viewer, commander, postmortem):
    published(postmortem, commander)
    [row] = rows(get(client, viewer, "postmortems:list"))
    assert "published on time" in row and "pmstate-published" in row


def test_the_list_costs_the_same_queries_for_1_and_20_postmortems(
    client, viewer, commander, resolved, django_assert_max_num_queries
):
    def add(n):
        incident = resolved(title=f"Incident {n}")
        postmortem = services.postmortem_create(incident=incident, by=commander)
        services.action_item_create(postmortem=postmortem, title=f"Fix {n}", by=commander)

    add(0)
    client.force_login(viewer)
    url = reverse("postmortems:list")
    with django_assert_max_num_queries(12) as one:
        client.get(url)
    for n in range(1, 20):
        add(n)
    with django_assert_max_num_queries(len(one.captured_queries)):
        html = client.get(url).content.decode()
    assert len(rows(html)) == 20


# --- Action items -----------------------------------------------------------------------------


@pytest.fixture
def items(commander, responder, resolved):
    """Items over two services: overdue, due later, undated, done and won't do."""
    payments = ServiceFactory(name="Payments", slug="payments")
    checkout_pm = services.postmortem_create(incident=resolved(), by=commander)
    payments_pm = services.postmortem_create(
        incident=resolved(title="Payments timeouts", services=[payments]), by=commander
    )
    today = timezone.localdate()

    def item(postmortem, title, **fields):
        return services.action_item_create(
            postmortem=postmortem, title=title, by=commander, **fields
        )

    made = {
        "late": item(checkout_pm, "Late fix", due_date=today - timedelta(days=3), owner=responder),
        "later": item(payments_pm, "Later fix", due_date=today + timedelta(days=10)),
        "soon": item(checkout_pm, "Soon fix", due_date=today + timedelta(days=2)),
        "undated": item(payments_pm, "Undated fix"),
        "late2": item(payments_pm, "Late payments fix", due_date=today - timedelta(days=1)),
        "done": item(checkout_pm, "Done fix", due_date=today - timedelta(days=5)),
        "dropped": item(checkout_pm, "Dropped fix"),
    }
    services.action_item_set_status(item=made["done"], status="done", by=commander)
    services.action_item_set_status(
        item=made["dropped"], status="wont_do", reason="Superseded.", by=commander
    )
    return made


def _titles(html: str) -> list[str]:
    return [re.search(r'class="strong"[^>]*>([^<]+)<', row).group(1) for row in rows(html)]


def test_action_items_are_listed_overdue_first_then_by_due_date(client, viewer, items):
    html = get(client, viewer, "postmortems:action-items")
    listed = _titles(html.split('id="per-service-h"')[0])
    assert listed == ["Late fix", "Late payments fix", "Soon fix", "Later fix", "Undated fix"]
    first = rows(html)[0]
    assert "pm-row-overdue" in first and 'class="overdue"' in first and "overdue</span>" in first


def test_action_item_filters(client, responder, items):
    def listed(params):
        html = get(client, responder, "postmortems:action-items", params)
        return set(_titles(html.split('id="per-service-h"')[0]))

    assert listed({"status": "done"}) == {"Done fix"}
    assert listed({"status": "wont_do"}) == {"Dropped fix"}
    assert len(listed({"status": "any"})) == 7
    assert listed({"owner": "me"}) == {"Late fix"}
    assert listed({"owner": responder.username}) == {"Late fix"}
    assert listed({"service": "payments"}) == {"Later fix", "Undated fix", "Late payments fix"}
    assert listed({"overdue": "on"}) == {"Late fix", "Late payments fix"}
    client.force_login(responder)
    response = client.get(reverse("postmortems:action-items"), {"service": "nope"})
    assert response.status_code == 400


def test_open_action_items_are_counted_per_service(client, viewer, items):
    html = get(client, viewer, "postmortems:action-items")
    table = html.split('id="per-service-h"')[1]
    counts = re.findall(
        r'<a href="[^"]*\?service=([a-z-]+)">[^<]+</a></td>\s*<td class="num">(\d+)</td>\s*'
        r'<td class="num">(?:<span class="overdue">)?(\d+)',
        table,
    )
    # Most overdue first, then most open.
    assert counts == [("payments", "3", "1"), ("checkout", "2", "1")]


def test_the_action_items_page_costs_the_same_queries_for_1_and_20_items(
    client, viewer, commander, postmortem, django_assert_max_num_queries
):
    def add(n):
        services.action_item_create(
            postmortem=postmortem,
            title=f"Fix {n}",
            owner=commander,
            due_date=timezone.localdate() - timedelta(days=n % 3),
            by=commander,
        )

    add(0)
    client.force_login(viewer)
    url = reverse("postmortems:action-items")
    with django_assert_max_num_queries(12) as one:
        client.get(url)
    for n in range(1, 20):
        add(n)
    with django_assert_max_num_queries(len(one.captured_queries)):
        client.get(url)


# --- The document's query count ---------------------------------------------------------------


def test_the_detail_page_costs_the_same_queries_for_1_and_20_events_and_items(
    client, responder, commander, postmortem, django_assert_max_num_queries
):
    incident = postmortem.incident

    def add(n):
        note = note_add(incident=incident, body=f"Finding {n}", by=commander)
        services.curation_set(
            postmortem=postmortem, event=note, by=commander, included=True, annotation=f"n{n}"
        )
        services.action_item_create(
            postmortem=postmortem, title=f"Fix {n}", owner=responder, by=commander
        )

    add(0)
    declared = incident.events.get(kind=EventKind.DECLARED)
    services.curation_set(postmortem=postmortem, event=declared, by=commander, hidden=True)
    client.force_login(responder)
    url = reverse("postmortems:detail", args=[postmortem.pk])
    with django_assert_max_num_queries(20) as one:
        client.get(url)
    for n in range(1, 20):
        add(n)
        note_add(incident=incident, body=f"Chatter {n}", by=commander)
    with django_assert_max_num_queries(len(one.captured_queries)):
        html = client.get(url).content.decode()
    assert html.count('class="pm-annotation"') == 20
    assert html.count('<tr id="item-') == 20
