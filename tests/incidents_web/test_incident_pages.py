"""Incident pages: list, declare, the incident workspace and its POST actions, by role."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.permissions import Role
from incidents.models import EventKind, Incident, IncidentTask, Status, TaskStatus, TimelineEvent
from incidents.services import incident_declare, note_add, public_update_post
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "viewer", "responder", "commander", "admin"]


PAGES = {
    "list": (
        lambda i: reverse("incidents:list"),
        dict(anonymous=302, viewer=200, responder=200, commander=200, admin=200),
    ),
    "declare": (
        lambda i: reverse("incidents:declare"),
        dict(anonymous=302, viewer=403, responder=200, commander=200, admin=200),
    ),
    "detail": (
        lambda i: reverse("incidents:detail", args=[i.number]),
        dict(anonymous=302, viewer=200, responder=200, commander=200, admin=200),
    ),
    "timeline": (
        lambda i: reverse("incidents:timeline", args=[i.number]),
        dict(anonymous=302, viewer=200, responder=200, commander=200, admin=200),
    ),
}


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("persona", ROLES, indirect=True)
def test_incident_pages_by_role(client, persona, incident, name, request):
    url_of, expected = PAGES[name]
    if persona is not None:
        client.force_login(persona)
    role = request.node.callspec.params["persona"]
    assert client.get(url_of(incident)).status_code == expected[role]


ACTIONS = {
    "ack": (
        lambda i, t: reverse("incidents:transition", args=[i.number]),
        {"to": "acknowledged"},
        dict(anonymous=302, viewer=403, responder=302, commander=302, admin=302),
    ),
    "resolve": (
        lambda i, t: reverse("incidents:transition", args=[i.number]),
        {"to": "resolved"},
        dict(anonymous=302, viewer=403, responder=403, commander=302, admin=302),
    ),
    "note": (
        lambda i, t: reverse("incidents:note", args=[i.number]),
        {"body": "hi"},
        dict(anonymous=302, viewer=403, responder=302, commander=302, admin=302),
    ),
    "update": (
        lambda i, t: reverse("incidents:update", args=[i.number]),
        {"status": "investigating", "body": "b"},
        dict(anonymous=302, viewer=403, responder=403, commander=302, admin=302),
    ),
    "task": (
        lambda i, t: reverse("incidents:task", args=[i.number, t.pk, "complete"]),
        {},
        dict(anonymous=302, viewer=403, responder=302, commander=302, admin=302),
    ),
}


@pytest.mark.parametrize("name", ACTIONS)
@pytest.mark.parametrize("persona", ROLES, indirect=True)
def test_incident_actions_by_role(client, persona, incident, name, request):
    url_of, data, expected = ACTIONS[name]
    task = incident.tasks.first()
    if persona is not None:
        client.force_login(persona)
    role = request.node.callspec.params["persona"]
    response = client.post(url_of(incident, task), data)
    assert response.status_code == expected[role]
    if role == "anonymous":
        assert response["Location"].startswith(reverse("login"))


def test_declare_form_creates_incident_with_self_as_default_commander(client, responder):
    service = ServiceFactory(slug="search")
    client.force_login(responder)
    page = client.get(reverse("incidents:declare")).content.decode()
    assert "Complete outage" in page  # the policy's description beside the severity
    response = client.post(
        reverse("incidents:declare"),
        {
            "title": "Search down",
            "severity": "P1",
            "services": [service.pk],
            "symptom": "service_unavailable",
        },
    )
    incident = Incident.objects.get()
    assert response["Location"] == reverse("incidents:detail", args=[incident.number])
    assert incident.commander == responder
    assert list(incident.services.all()) == [service]


def test_declare_form_errors_keep_the_page(client, responder):
    client.force_login(responder)
    response = client.post(reverse("incidents:declare"), {"title": "", "severity": "P9"})
    assert response.status_code == 400
    assert not Incident.objects.exists()


def test_commander_runs_the_playbook_from_the_page(client, commander, incident):
    client.force_login(commander)
    for to in ["acknowledged", "investigating", "mitigating", "resolved", "closed"]:
        client.post(reverse("incidents:transition", args=[incident.number]), {"to": to})
        incident.refresh_from_db()
        assert incident.status == to
    illegal = client.post(
        reverse("incidents:transition", args=[incident.number]), {"to": "triggered"}, follow=True
    )
    assert "Cannot move from closed" in illegal.content.decode()


def test_task_skip_needs_a_reason(client, responder, incident):
    task = incident.tasks.first()
    client.force_login(responder)
    client.post(reverse("incidents:task", args=[incident.number, task.pk, "skip"]), {"reason": ""})
    assert IncidentTask.objects.get(pk=task.pk).status == TaskStatus.OPEN
    client.post(
        reverse("incidents:task", args=[incident.number, task.pk, "skip"]), {"reason": "duplicate"}
    )
    assert IncidentTask.objects.get(pk=task.pk).status == TaskStatus.SKIPPED


def test_unknown_task_verb_is_404(client, responder, incident):
    task = incident.tasks.first()
    client.force_login(responder)
    assert (
        client.post(
            reverse("incidents:task", args=[incident.number, task.pk, "delete"])
        ).status_code
        == 404
    )


def test_page_marks_public_and_internal_events_differently(client, viewer, commander, incident):
    note_add(incident=incident, body="internal finding", by=commander)
    public_update_post(incident=incident, status="investigating", body="we are on it", by=commander)
    client.force_login(viewer)
    html = client.get(reverse("incidents:detail", args=[incident.number])).content.decode()
    assert "event-note event-internal" in html
    assert "event-public_update event-public" in html
    assert "visibility-public" in html and "visibility-internal" in html


def test_notes_are_rendered_as_sanitized_markdown(client, commander, incident):
    note_add(
        incident=incident,
        body='**bold** <script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror="alert(3)">',
        by=commander,
    )
    client.force_login(commander)
    html = client.get(reverse("incidents:detail", args=[incident.number])).content.decode()
    assert "<strong>bold</strong>" in html
    assert (
        "<script>alert(1)" not in html and "javascript:alert" not in html and "onerror" not in html
    )


def test_timeline_partial_returns_only_newer_events(client, viewer, commander, incident):
    note_add(incident=incident, body="second", by=commander)
    client.force_login(viewer)
    response = client.get(reverse("incidents:timeline", args=[incident.number]), {"after": 1})
    html = response.content.decode()
    assert 'data-seq="2"' in html and 'data-seq="1"' not in html
    assert response["X-Last-Seq"] == "2"
    assert (
        client.get(
            reverse("incidents:timeline", args=[incident.number]), {"after": "junk"}
        ).status_code
        == 200
    )


def test_list_filters_and_counts(client, viewer, commander, incident):
    incident_declare(title="Old thing", severity="P3", by=commander)
    client.force_login(viewer)
    html = client.get(reverse("incidents:list"), {"severity": "P3"}).content.decode()
    assert "Old thing" in html and "Checkout 503" not in html
    default = client.get(reverse("incidents:list")).content.decode()
    assert "open P1" in default


def test_incident_list_query_count_does_not_grow(
    client, viewer, commander, django_assert_max_num_queries
):
    for n in range(3):
        incident_declare(title=f"i{n}", severity="P2", by=commander, services=[ServiceFactory()])
    client.force_login(viewer)
    with django_assert_max_num_queries(25) as small:
        client.get(reverse("incidents:list"))
    for n in range(40):
        incident_declare(
            title=f"j{n}",
            severity="P1",
            by=commander,
            services=[ServiceFactory(), ServiceFactory()],
        )
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(reverse("incidents:list"))


def test_incident_page_query_count_is_the_same_for_10_and_500_events(
    client, viewer, commander, incident, django_assert_max_num_queries
):
    for n in range(7):
        note_add(incident=incident, body=f"n{n}", by=commander)
    client.force_login(viewer)
    url = reverse("incidents:detail", args=[incident.number])
    with django_assert_max_num_queries(25) as small:
        client.get(url)
    assert TimelineEvent.objects.filter(incident=incident).count() == 8
    events = [
        TimelineEvent(
            incident=incident, seq=seq, kind=EventKind.NOTE, body=f"bulk {seq}", author=commander
        )
        for seq in range(9, 501)
    ]
    TimelineEvent.objects.bulk_create(events)
    Incident.objects.filter(pk=incident.pk).update(last_seq=500)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(url)
    assert 'data-seq="500"' in response.content.decode()


def test_viewer_sees_no_action_buttons(client, viewer, incident):
    client.force_login(viewer)
    html = client.get(reverse("incidents:detail", args=[incident.number])).content.decode()
    assert "data-transition" not in html and "compose-note" not in html


def test_responder_sees_acknowledge_but_not_resolve(client, make_user, incident):
    client.force_login(make_user(Role.RESPONDER, username="r2"))
    html = client.get(reverse("incidents:detail", args=[incident.number])).content.decode()
    assert 'data-transition="acknowledged"' in html and 'data-transition="resolved"' not in html
    assert "compose-update" not in html


def test_closed_incident_offers_no_composer(client, commander, incident):
    from incidents.services import incident_transition

    for to in ["acknowledged", "resolved", "closed"]:
        incident = incident_transition(incident=incident, to=to, by=commander)
    client.force_login(commander)
    html = client.get(reverse("incidents:detail", args=[incident.number])).content.decode()
    assert incident.status == Status.CLOSED and "compose-note" not in html


def test_empty_filter_values_mean_any_and_all_shows_closed(client, viewer, commander, incident):
    from incidents.services import incident_transition

    old = incident_declare(title="Long gone", severity="P3", by=commander)
    for to in ["acknowledged", "resolved", "closed"]:
        old = incident_transition(incident=old, to=to, by=commander)
    client.force_login(viewer)
    default = client.get(reverse("incidents:list"), {"status": "", "severity": "", "service": ""})
    html = default.content.decode()
    assert "form-errors" not in html and "Checkout 503" in html and "Long gone" not in html
    everything = client.get(reverse("incidents:list"), {"all": "1"}).content.decode()
    assert "Long gone" in everything and "Checkout 503" in everything


def test_unacknowledged_incident_shows_respond_and_escalation_deadlines(client, viewer, commander):
    p3 = incident_declare(title="Typo on pricing page", severity="P3", by=commander)
    client.force_login(viewer)
    html = client.get(reverse("incidents:detail", args=[p3.number])).content.decode()
    assert "Respond by" in html and "Escalates" in html
