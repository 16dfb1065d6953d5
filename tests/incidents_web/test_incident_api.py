"""The incidents REST API: declare, transition (409 with allowed targets), notes, public
updates, timeline cursor, tasks, and a role table for every endpoint."""

from __future__ import annotations

import pytest

from accounts.permissions import Role
from catalog.models import ComponentStatus
from incidents.models import EventKind, Incident, IncidentTask, Status, TimelineEvent
from incidents.services import incident_declare, note_add
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "viewer", "responder", "commander", "admin"]


def test_declare_with_service_slugs_and_ids_answers_201_with_ref(api_as, commander):
    by_id = ServiceFactory(slug="payments")
    ServiceFactory(slug="checkout")
    response = api_as(commander).post(
        "/api/v1/incidents/",
        {
            "title": "Payments down",
            "severity": "P0",
            "services": ["checkout", by_id.pk],
            "symptom": "service_unavailable",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["ref"] == "INC-1" and body["id"]
    assert body["status"] == "triggered" and body["commander"] == commander.username
    assert {s["slug"] for s in body["services"]} == {"checkout", "payments"}
    assert body["allowed_transitions"] == ["acknowledged", "resolved"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": "x", "severity": "P9"}, "severity"),
        ({"severity": "P1"}, "title"),
        ({"title": "x", "severity": "P1", "services": ["no-such-service"]}, "services"),
        ({"title": "x", "severity": "P1", "symptom": "vibes"}, "symptom"),
        ({"title": "x" * 201, "severity": "P1"}, "title"),
        ({"title": "x", "severity": "P1", "commander": "ghost"}, "commander"),
    ],
)
def test_declare_rejects_bad_input_with_field_errors(api_as, commander, payload, field):
    response = api_as(commander).post("/api/v1/incidents/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Incident.objects.exists()


def test_illegal_transition_is_409_with_allowed_targets_and_changes_nothing(
    api_as, commander, incident
):
    before = TimelineEvent.objects.count()
    response = api_as(commander).post(
        f"/api/v1/incidents/{incident.pk}/transition/", {"to": "closed"}, format="json"
    )
    assert response.status_code == 409
    body = response.json()
    assert body["type"] == "illegal_transition"
    assert body["allowed"] == ["acknowledged", "resolved"]
    incident.refresh_from_db()
    assert incident.status == Status.TRIGGERED
    assert TimelineEvent.objects.count() == before


def test_run_an_incident_from_triggered_to_closed_through_the_api(api_as, commander, incident):
    api = api_as(commander)
    for to in ["acknowledged", "investigating", "mitigating", "resolved", "closed"]:
        response = api.post(
            f"/api/v1/incidents/{incident.pk}/transition/", {"to": to}, format="json"
        )
        assert response.status_code == 200, response.json()
        assert response.json()["status"] == to
    body = api.get(f"/api/v1/incidents/{incident.pk}/").json()
    assert (
        body["time_to_acknowledge_seconds"] is not None
        and body["time_to_resolve_seconds"] is not None
    )
    assert body["allowed_transitions"] == []
    closed = api.post(f"/api/v1/incidents/{incident.pk}/notes/", {"body": "late"}, format="json")
    assert closed.status_code == 409


def test_responder_may_acknowledge_but_not_resolve(api_as, responder, incident):
    api = api_as(responder)
    assert (
        api.post(
            f"/api/v1/incidents/{incident.pk}/transition/", {"to": "resolved"}, format="json"
        ).status_code
        == 403
    )
    assert (
        api.post(
            f"/api/v1/incidents/{incident.pk}/transition/", {"to": "acknowledged"}, format="json"
        ).status_code
        == 200
    )


def test_public_update_sets_component_status_and_is_public(api_as, commander, incident):
    response = api_as(commander).post(
        f"/api/v1/incidents/{incident.pk}/updates/",
        {
            "status": "identified",
            "body": "Bad deploy, rolling back.",
            "component_status": "partial_outage",
        },
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["visibility"] == "public"
    assert incident.services.get().status == ComponentStatus.PARTIAL_OUTAGE
    affected = response.json()["data"]["affected_components"][0]
    assert affected["old_status"] == "operational" and affected["new_status"] == "partial_outage"


def test_notes_are_internal(api_as, responder, incident):
    response = api_as(responder).post(
        f"/api/v1/incidents/{incident.pk}/notes/", {"body": "db at 100% cpu"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["visibility"] == "internal" and response.json()["kind"] == "note"


def test_timeline_cursor_pagination(api_as, commander, incident, viewer):
    for n in range(5):
        note_add(incident=incident, body=f"note {n}", by=commander)
    api = api_as(viewer)
    first = api.get(f"/api/v1/incidents/{incident.pk}/timeline/?limit=4").json()
    assert [e["seq"] for e in first["results"]] == [1, 2, 3, 4]
    assert first["last_seq"] == 6 and "after=4" in first["next"]
    rest = api.get(first["next"]).json()
    assert [e["seq"] for e in rest["results"]] == [5, 6] and rest["next"] is None
    assert set(rest["results"][0]) == {
        "seq",
        "kind",
        "visibility",
        "created_at",
        "author",
        "body",
        "data",
    }
    assert api.get(f"/api/v1/incidents/{incident.pk}/timeline/?after=6").json()["results"] == []
    notes = api.get(f"/api/v1/incidents/{incident.pk}/timeline/?kind=note").json()["results"]
    assert {e["kind"] for e in notes} == {EventKind.NOTE}


@pytest.mark.parametrize("query", ["after=-1", "after=abc", "limit=0", "limit=100000"])
def test_timeline_bad_cursor_is_400(api_as, viewer, incident, query):
    response = api_as(viewer).get(f"/api/v1/incidents/{incident.pk}/timeline/?{query}")
    assert response.status_code == 400


def test_tasks_complete_skip_assign(api_as, responder, incident):
    api = api_as(responder)
    tasks = api.get(f"/api/v1/incidents/{incident.pk}/tasks/").json()
    assert len(tasks) == 3
    first, second, third = (task["id"] for task in tasks)
    assert api.post(f"/api/v1/tasks/{first}/complete/").json()["status"] == "done"
    assert (
        api.post(f"/api/v1/tasks/{second}/skip/", {"reason": ""}, format="json").status_code == 400
    )
    skipped = api.post(
        f"/api/v1/tasks/{second}/skip/", {"reason": "not needed for P1"}, format="json"
    ).json()
    assert skipped["status"] == "skipped" and skipped["skip_reason"] == "not needed for P1"
    assigned = api.post(
        f"/api/v1/tasks/{third}/assign/", {"assignee": responder.username}, format="json"
    ).json()
    assert assigned["assignee"] == responder.username
    assert api.post(f"/api/v1/tasks/{first}/reopen/").json()["status"] == "open"
    kinds = TimelineEvent.objects.filter(incident=incident, kind=EventKind.TASK).count()
    assert kinds == 4


def test_edit_fields_records_a_timeline_event(api_as, commander, incident):
    response = api_as(commander).patch(
        f"/api/v1/incidents/{incident.pk}/",
        {"severity": "P0", "public_title": "Checkout issues"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["severity"] == "P0"
    event = TimelineEvent.objects.filter(incident=incident, kind=EventKind.FIELD_CHANGE).get()
    assert event.data["changes"]["severity"] == ["P1", "P0"]


def test_filters(api_as, viewer, commander, incident):
    incident_declare(title="Search slow", severity="P3", by=commander)
    api = api_as(viewer)
    assert api.get("/api/v1/incidents/?severity=P3").json()["count"] == 1
    assert api.get("/api/v1/incidents/?service=checkout").json()["count"] == 1
    assert api.get("/api/v1/incidents/?status=triggered&status=acknowledged").json()["count"] == 2
    assert api.get(f"/api/v1/incidents/?commander={commander.username}").json()["count"] == 1
    assert api.get("/api/v1/incidents/?severity=P7").status_code == 400


def test_list_and_timeline_query_counts_do_not_grow(
    api_as, viewer, commander, django_assert_max_num_queries
):
    api = api_as(viewer)
    first = incident_declare(title="one", severity="P2", by=commander, services=[ServiceFactory()])
    for n in range(10):
        note_add(incident=first, body=f"n{n}", by=commander)
    with django_assert_max_num_queries(20) as small_list:
        api.get("/api/v1/incidents/")
    with django_assert_max_num_queries(20) as small_timeline:
        api.get(f"/api/v1/incidents/{first.pk}/timeline/")
    for n in range(20):
        incident_declare(
            title=f"more {n}", severity="P3", by=commander, services=[ServiceFactory()]
        )
    for n in range(150):
        note_add(incident=first, body=f"m{n}", by=commander)
    with django_assert_max_num_queries(len(small_list.captured_queries)):
        api.get("/api/v1/incidents/")
    with django_assert_max_num_queries(len(small_timeline.captured_queries)):
        api.get(f"/api/v1/incidents/{first.pk}/timeline/")


READ = dict(anonymous=401, viewer=200, responder=200, commander=200, admin=200)
DECLARE = dict(anonymous=401, viewer=403, responder=201, commander=201, admin=201)
RESPOND_201 = dict(anonymous=401, viewer=403, responder=201, commander=201, admin=201)
RESPOND_200 = dict(anonymous=401, viewer=403, responder=200, commander=200, admin=200)
COMMAND_200 = dict(anonymous=401, viewer=403, responder=403, commander=200, admin=200)
COMMAND_201 = dict(anonymous=401, viewer=403, responder=403, commander=201, admin=201)

MATRIX = [
    ("get", "/api/v1/incidents/", None, READ),
    ("get", "/api/v1/incidents/{id}/", None, READ),
    ("get", "/api/v1/incidents/{id}/timeline/", None, READ),
    ("get", "/api/v1/incidents/{id}/tasks/", None, READ),
    ("get", "/api/v1/tasks/{task}/", None, READ),
    ("post", "/api/v1/incidents/", {"title": "t", "severity": "P2"}, DECLARE),
    ("patch", "/api/v1/incidents/{id}/", {"title": "renamed"}, COMMAND_200),
    ("post", "/api/v1/incidents/{id}/transition/", {"to": "acknowledged"}, RESPOND_200),
    ("post", "/api/v1/incidents/{id}/transition/", {"to": "resolved"}, COMMAND_200),
    ("post", "/api/v1/incidents/{id}/notes/", {"body": "n"}, RESPOND_201),
    (
        "post",
        "/api/v1/incidents/{id}/updates/",
        {"status": "investigating", "body": "b"},
        COMMAND_201,
    ),
    ("post", "/api/v1/tasks/{task}/complete/", None, RESPOND_200),
    ("post", "/api/v1/tasks/{task}/skip/", {"reason": "r"}, RESPOND_200),
    ("post", "/api/v1/tasks/{task}/assign/", {"assignee": None}, RESPOND_200),
]


@pytest.mark.parametrize(("method", "path", "body", "expected"), MATRIX, ids=lambda v: str(v)[:45])
@pytest.mark.parametrize("persona", ROLES, indirect=True)
def test_incident_api_access_by_role(
    api_as, make_user, persona, method, path, body, expected, request
):
    owner = make_user(Role.COMMANDER, username="matrix-owner")
    incident = incident_declare(title="x", severity="P2", by=owner)
    task = IncidentTask.objects.filter(incident=incident).first()
    url = path.format(id=incident.pk, task=task.pk)
    response = getattr(api_as(persona), method)(url, body, format="json")
    role = request.node.callspec.params["persona"]
    assert response.status_code == expected[role], response.content


def test_acknowledging_completes_the_acknowledge_task(api_as, responder, incident):
    api_as(responder).post(
        f"/api/v1/incidents/{incident.pk}/transition/", {"to": "acknowledged"}, format="json"
    )
    task = IncidentTask.objects.get(incident=incident, title="Acknowledge the incident")
    assert task.status == "done" and task.completed_by == responder
    others = IncidentTask.objects.filter(incident=incident, step="acknowledge").exclude(pk=task.pk)
    assert all(other.status == "open" for other in others)
