"""Recovery procedures: the seeded content, attaching one to an incident, completing its tasks."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

import pytest
from django.apps import apps

from incidents.models import EventKind, IncidentTask, Status, Step, TaskStatus, TimelineEvent
from incidents.services import incident_declare, incident_transition, task_complete, task_skip
from maintenance.errors import MaintenanceError
from maintenance.models import (
    AttachedProcedure,
    ChecklistKind,
    ChecklistTemplate,
    ChecklistTemplateItem,
    Phase,
)
from maintenance.procedures import incident_procedures, procedure_attach, progress_of
from tests.factories import ServiceFactory
from tests.incidents.support import pool_room_for, run_together

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
seed_module = importlib.import_module("maintenance.migrations.0002_seed_checklists")

GUIDE = {
    Phase.PRE: [
        ("Notify stakeholders 24 h in advance", True),
        ("Create the maintenance window in monitoring", True),
        ("Prepare and document the rollback plan", True),
        ("Back up critical data", True),
    ],
    Phase.DURING: [
        ("Monitor system health continuously", False),
        ("Follow change procedures step by step", False),
        ("Document issues as they occur", False),
        ("Communicate progress regularly", False),
    ],
    Phase.POST: [
        ("Verify functionality end to end", True),
        ("Extended monitoring", False),
        ("Update documentation", False),
        ("Retrospective", False),
    ],
}


def recovery(slug: str) -> ChecklistTemplate:
    return ChecklistTemplate.objects.get(slug=slug)


@pytest.fixture
def incident(commander):
    return incident_declare(
        title="Orders database refuses connections",
        severity="P2",
        by=commander,
        commander=commander,
        services=[ServiceFactory(slug="orders")],
        now=T0 - timedelta(minutes=5),
    )


# --- Seeded content ---------------------------------------------------------------------------


def test_the_default_checklist_is_the_guides_in_three_phases():
    default = ChecklistTemplate.objects.get(is_default=True)
    assert default.kind == ChecklistKind.MAINTENANCE and default.active
    for phase, expected in GUIDE.items():
        items = list(default.items.filter(phase=phase).order_by("position"))
        assert [(item.title, item.required) for item in items] == expected
        # Each says what done looks like, in a sentence or more.
        assert all(len(item.description) > 80 for item in items)


def test_three_recovery_procedures_are_seeded_with_steps_and_due_times():
    procedures = ChecklistTemplate.objects.filter(kind=ChecklistKind.RECOVERY)
    assert sorted(procedures.values_list("name", flat=True)) == [
        "Complete outage",
        "Database failure",
        "Service failure",
    ]
    for procedure in procedures:
        items = list(procedure.items.all())
        assert len(items) >= 5
        for item in items:
            assert item.phase == Phase.PROCEDURE
            assert item.incident_step in Step.values
            assert 0 < item.due_minutes <= 180
            assert len(item.description) > 80
    outage = [i.title for i in recovery("complete-outage").items.order_by("position")]
    assert outage[0] == "Declare P0 and open the bridge"
    assert outage[-1] == "Confirm end to end and communicate the all clear"


def test_seeding_again_changes_nothing():
    before = list(ChecklistTemplateItem.objects.order_by("pk").values())
    seed_module.seed(apps, None)
    assert list(ChecklistTemplateItem.objects.order_by("pk").values()) == before
    assert ChecklistTemplate.objects.filter(is_default=True).count() == 1


def test_seeding_again_leaves_another_default_alone():
    ChecklistTemplate.objects.filter(is_default=True).update(is_default=False)
    ours = ChecklistTemplate.objects.create(
        name="Ours", slug="ours", kind=ChecklistKind.MAINTENANCE, is_default=True
    )
    seed_module.seed(apps, None)
    assert list(ChecklistTemplate.objects.filter(is_default=True)) == [ours]


# --- Attaching --------------------------------------------------------------------------------


def test_attaching_turns_each_item_into_a_task_in_its_step_due_from_now(incident, commander):
    template = recovery("database-failure")
    items = list(template.items.order_by("position"))

    attached = procedure_attach(incident=incident, template=template, by=commander, now=T0)

    tasks = list(attached.tasks.order_by("position"))
    assert [(t.title, t.step, t.due_at, t.position, t.description) for t in tasks] == [
        (
            item.title,
            item.incident_step,
            T0 + timedelta(minutes=item.due_minutes),
            item.position,
            item.description,
        )
        for item in items
    ]
    assert all(t.incident_id == incident.pk and t.status == TaskStatus.OPEN for t in tasks)
    assert tasks[0].step == Step.ASSESS and tasks[0].due_at == T0 + timedelta(minutes=10)
    assert attached.attached_by == commander and attached.attached_at == T0


def test_attaching_appends_one_task_event_listing_the_tasks(incident, commander):
    last_seq = TimelineEvent.objects.filter(incident=incident).count()

    attached = procedure_attach(
        incident=incident, template=recovery("service-failure"), by=commander, now=T0
    )

    events = list(TimelineEvent.objects.filter(incident=incident, seq__gt=last_seq))
    assert len(events) == 1
    event = events[0]
    task_ids = sorted(attached.tasks.values_list("pk", flat=True))
    assert event.kind == EventKind.TASK and event.author == commander
    assert event.body == "Recovery procedure attached: Service failure (5 tasks)"
    assert event.data["action"] == "added"
    assert sorted(event.data["task_ids"]) == task_ids
    assert event.data["procedure"] == "Service failure"
    assert event.data["template"] == "service-failure"
    assert event.data["steps"] == ["assess", "mitigate", "resolve"]


def test_completing_a_procedure_task_puts_it_on_the_timeline(incident, commander, responder):
    attached = procedure_attach(
        incident=incident, template=recovery("database-failure"), by=commander, now=T0
    )
    first, second = attached.tasks.order_by("position")[:2]

    task_complete(task=first, by=responder, now=T0 + timedelta(minutes=4))
    task_skip(task=second, by=commander, reason="Writers were already stopped")

    event = TimelineEvent.objects.filter(incident=incident).order_by("-seq")[1]
    assert event.kind == EventKind.TASK and event.author == responder
    assert event.data == {"task_id": first.pk, "action": "completed", "step": "assess"}
    assert event.body == "Task completed: Confirm the failure and its scope"
    progress = progress_of(incident_procedures(incident.pk).get())
    assert (progress.done, progress.skipped, progress.total) == (1, 1, 6)


def test_attaching_the_same_procedure_twice_is_refused(incident, commander):
    template = recovery("database-failure")
    procedure_attach(incident=incident, template=template, by=commander, now=T0)
    tasks, events = incident.tasks.count(), TimelineEvent.objects.count()

    with pytest.raises(MaintenanceError) as refused:
        procedure_attach(incident=incident, template=template, by=commander, now=T0)

    assert refused.value.code == "already_attached"
    assert incident.tasks.count() == tasks and TimelineEvent.objects.count() == events


def test_two_different_procedures_attach_side_by_side(incident, commander):
    procedure_attach(incident=incident, template=recovery("database-failure"), by=commander)
    procedure_attach(incident=incident, template=recovery("service-failure"), by=commander)
    assert [p.template.slug for p in incident_procedures(incident.pk)] == [
        "database-failure",
        "service-failure",
    ]


def test_a_closed_incident_takes_no_procedure(incident, commander):
    incident_transition(incident=incident, to=Status.RESOLVED, by=commander)
    incident_transition(incident=incident, to=Status.CLOSED, by=commander)
    with pytest.raises(MaintenanceError) as refused:
        procedure_attach(incident=incident, template=recovery("complete-outage"), by=commander)
    assert refused.value.code == "incident_closed"
    assert not AttachedProcedure.objects.exists()


def test_a_maintenance_checklist_or_an_inactive_procedure_cannot_be_attached(incident, commander):
    with pytest.raises(MaintenanceError) as refused:
        procedure_attach(
            incident=incident,
            template=ChecklistTemplate.objects.get(is_default=True),
            by=commander,
        )
    assert refused.value.code == "not_a_procedure"
    inactive = recovery("service-failure")
    inactive.active = False
    inactive.save()
    with pytest.raises(MaintenanceError) as refused:
        procedure_attach(incident=incident, template=inactive, by=commander)
    assert refused.value.code == "inactive"
    assert not IncidentTask.objects.filter(template__isnull=True).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_attaches_of_one_procedure_attach_it_once(commander):
    incident = incident_declare(title="Outage", severity="P2", by=commander)
    template = recovery("complete-outage")

    def attach(_index: int) -> str:
        try:
            procedure_attach(incident=incident, template=template, by=commander)
        except MaintenanceError as exc:
            return exc.code
        return "attached"

    with pool_room_for(4):
        outcomes = run_together(4, attach)

    assert sorted(outcomes) == ["already_attached"] * 3 + ["attached"]
    assert incident.tasks.filter(template__isnull=True).count() == template.items.count()


# --- API: /api/v1/incident-procedures/ ---------------------------------------------------------

ROLES = ["anonymous", "viewer", "responder", "commander", "admin"]
PROCEDURES_URL = "/api/v1/incident-procedures/"


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("anonymous", 401), ("viewer", 403), ("responder", 403), ("commander", 201), ("admin", 201)],
    indirect=["persona"],
)
def test_attaching_through_the_api_is_for_commanders(api_as, persona, expected, incident):
    response = api_as(persona).post(
        PROCEDURES_URL, {"incident": incident.pk, "template": "database-failure"}, format="json"
    )
    assert response.status_code == expected
    if expected == 201:
        body = response.json()
        assert body["name"] == "Database failure" and body["incident"] == incident.pk
        assert body["progress"] == {"done": 0, "skipped": 0, "total": 6}
        assert [task["step"] for task in body["tasks"]][:2] == ["assess", "mitigate"]


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("anonymous", 401), ("viewer", 200), ("responder", 200), ("commander", 200), ("admin", 200)],
    indirect=["persona"],
)
def test_every_role_reads_attached_procedures(api_as, persona, expected, incident, commander):
    procedure_attach(incident=incident, template=recovery("service-failure"), by=commander)
    response = api_as(persona).get(PROCEDURES_URL, {"incident": incident.pk})
    assert response.status_code == expected


def test_the_api_lists_an_incidents_procedures_with_progress(api_as, commander, viewer):
    first = incident_declare(title="One", severity="P2", by=commander)
    second = incident_declare(title="Two", severity="P2", by=commander)
    procedure_attach(incident=first, template=recovery("service-failure"), by=commander)
    attached = procedure_attach(
        incident=second, template=recovery("database-failure"), by=commander
    )
    task_complete(task=attached.tasks.order_by("position").first(), by=commander)

    body = api_as(viewer).get(PROCEDURES_URL, {"incident": second.pk}).json()

    assert body["count"] == 1
    (procedure,) = body["results"]
    assert procedure["slug"] == "database-failure" and procedure["attached_by"] == "cora"
    assert procedure["progress"] == {"done": 1, "skipped": 0, "total": 6}
    assert procedure["tasks"][0]["status"] == "done"


def test_the_api_answers_409_already_attached(api_as, commander, incident):
    client = api_as(commander)
    payload = {"incident": incident.pk, "template": recovery("database-failure").pk}
    assert client.post(PROCEDURES_URL, payload, format="json").status_code == 201

    response = client.post(PROCEDURES_URL, payload, format="json")

    assert response.status_code == 409
    body = response.json()
    assert body["type"] == "already_attached" and "already attached" in body["detail"]
    assert body["extra"] == {"procedure": AttachedProcedure.objects.get().pk}


def test_the_api_answers_409_for_a_closed_incident(api_as, commander, incident):
    incident_transition(incident=incident, to=Status.RESOLVED, by=commander)
    incident_transition(incident=incident, to=Status.CLOSED, by=commander)
    response = api_as(commander).post(
        PROCEDURES_URL, {"incident": incident.pk, "template": "complete-outage"}, format="json"
    )
    assert response.status_code == 409 and response.json()["type"] == "incident_closed"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"incident": None, "template": "database-failure"}, "incident"),
        ({"incident": 999999, "template": "database-failure"}, "incident"),
        ({"incident": "x", "template": "database-failure"}, "incident"),
        ({"incident": 2**70, "template": "database-failure"}, "incident"),
        ({"template": "no-such-procedure"}, "template"),
        ({"template": ""}, "template"),
    ],
)
def test_bad_attach_requests_answer_400_with_the_field(api_as, commander, incident, payload, field):
    payload = {"incident": incident.pk, **payload}
    response = api_as(commander).post(PROCEDURES_URL, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_attaching_a_maintenance_checklist_through_the_api_is_a_400(api_as, commander, incident):
    response = api_as(commander).post(
        PROCEDURES_URL,
        {"incident": incident.pk, "template": "standard-maintenance"},
        format="json",
    )
    assert response.status_code == 400 and response.json()["type"] == "not_a_procedure"


def test_a_bad_incident_filter_is_a_400(api_as, viewer):
    response = api_as(viewer).get(PROCEDURES_URL, {"incident": "abc"})
    assert response.status_code == 400 and "incident" in response.json()["errors"]
