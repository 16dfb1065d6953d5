"""The incident lifecycle: the playbook's transition table, tasks per step, updates and tasks."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import timedelta

import pytest
from django.db import transaction

from catalog.models import ComponentStatus
from incidents.escalation import escalate_overdue
from incidents.models import (
    EventKind,
    Incident,
    IncidentTask,
    OutboxEvent,
    Status,
    TaskStatus,
    TaskTemplate,
    TimelineEvent,
    Visibility,
)
from incidents.playbook import TRANSITIONS
from incidents.services import (
    IllegalTransition,
    IncidentClosed,
    incident_declare,
    incident_transition,
    note_add,
    public_update_post,
    task_assign,
    task_complete,
    task_reopen,
    task_skip,
    timeline_append,
)
from tests.factories import ServiceFactory

from .support import T0, check_timeline, pool_room_for, run_together

ALL_PAIRS = list(itertools.product(Status.values, repeat=2))
ALLOWED = [(source, to) for source, to in ALL_PAIRS if to in TRANSITIONS[source]]
FORBIDDEN = [(source, to) for source, to in ALL_PAIRS if to not in TRANSITIONS[source]]

NOW = T0 + timedelta(hours=1)
TIMESTAMPS = ("acknowledged_at", "mitigated_at", "resolved_at", "closed_at")

# What each allowed move stamps (NOW) or clears (None); every other timestamp keeps its value.
STAMPS = {
    (Status.TRIGGERED, Status.ACKNOWLEDGED): {"acknowledged_at": NOW},
    # A false alarm resolved straight away counts as acknowledged when resolved.
    (Status.TRIGGERED, Status.RESOLVED): {"acknowledged_at": NOW, "resolved_at": NOW},
    (Status.ACKNOWLEDGED, Status.INVESTIGATING): {},
    (Status.ACKNOWLEDGED, Status.MITIGATING): {"mitigated_at": NOW},
    (Status.ACKNOWLEDGED, Status.RESOLVED): {"resolved_at": NOW},
    (Status.INVESTIGATING, Status.MITIGATING): {"mitigated_at": NOW},
    (Status.INVESTIGATING, Status.RESOLVED): {"resolved_at": NOW},
    (Status.MITIGATING, Status.INVESTIGATING): {},
    (Status.MITIGATING, Status.RESOLVED): {"resolved_at": NOW},
    (Status.RESOLVED, Status.CLOSED): {"closed_at": NOW},
    (Status.RESOLVED, Status.INVESTIGATING): {"resolved_at": None},
}


def pair_id(pair: tuple[str, str]) -> str:
    return f"{pair[0]}->{pair[1]}"


def snapshot(incident: Incident) -> dict:
    """Everything a transition may touch, read fresh from the database."""
    fresh = Incident.objects.get(pk=incident.pk)
    return {
        "status": fresh.status,
        **{field: getattr(fresh, field) for field in TIMESTAMPS},
        "last_seq": fresh.last_seq,
        "tasks": IncidentTask.objects.filter(incident=fresh).count(),
        "events": TimelineEvent.objects.filter(incident=fresh).count(),
        "outbox": OutboxEvent.objects.filter(incident=fresh).count(),
    }


def test_the_pair_lists_cover_every_status_pair_once():
    assert len(ALLOWED) + len(FORBIDDEN) == len(Status.values) ** 2
    assert set(STAMPS) == set(ALLOWED)


# --- The transition table -----------------------------------------------------------------------


@pytest.mark.parametrize(("source", "to"), ALLOWED, ids=[pair_id(p) for p in ALLOWED])
def test_allowed_move_changes_status_stamps_times_and_records_it(
    declare, walk, commander, source, to
):
    incident = walk(declare(), source)
    before = snapshot(incident)
    # Tasks the move itself accomplishes (the 'Acknowledge' task on acknowledging), including
    # an acknowledgement implied by moving on from triggered (e.g. resolving a false alarm).
    done_by_move = {to}
    if incident.acknowledged_at is None and to != Status.CLOSED:
        done_by_move.add(Status.ACKNOWLEDGED)
    auto_completed = list(
        incident.tasks.filter(
            status=TaskStatus.OPEN, template__completed_on_status__in=done_by_move
        ).order_by("pk")
    )

    moved = incident_transition(incident=incident, to=to, by=commander, now=NOW)

    after = snapshot(moved)
    assert after["status"] == to
    expected = {field: before[field] for field in TIMESTAMPS} | STAMPS[(source, to)]
    assert {field: after[field] for field in TIMESTAMPS} == expected
    new_events = list(incident.events.filter(seq__gt=before["last_seq"]).order_by("seq"))
    assert after["last_seq"] == before["last_seq"] + len(new_events)
    reopening = (source, to) == (Status.RESOLVED, Status.INVESTIGATING)
    status_kind = EventKind.REOPENED if reopening else EventKind.STATUS_CHANGE
    assert [event.kind for event in new_events] == [status_kind] + [EventKind.TASK] * len(
        auto_completed
    )
    event = new_events[0]
    assert event.data["from"] == source
    assert event.data["to"] == to
    assert event.author == commander
    assert event.created_at == NOW
    assert [e.data["task_id"] for e in new_events[1:]] == [t.pk for t in auto_completed]
    topic = "incident.resolved" if to == Status.RESOLVED else "incident.status_changed"
    assert OutboxEvent.objects.filter(incident=incident).latest("pk").topic == topic
    check_timeline()


@pytest.mark.parametrize(("source", "to"), FORBIDDEN, ids=[pair_id(p) for p in FORBIDDEN])
def test_forbidden_move_raises_and_changes_nothing(declare, walk, commander, source, to):
    incident = walk(declare(), source)
    before = snapshot(incident)

    with pytest.raises(IllegalTransition) as raised:
        incident_transition(incident=incident, to=to, by=commander, now=NOW)

    assert raised.value.allowed == list(TRANSITIONS[source])
    assert raised.value.current == source
    assert raised.value.to == to
    assert snapshot(incident) == before


def test_unknown_target_status_is_an_illegal_transition(declare, commander):
    incident = declare()
    before = snapshot(incident)

    with pytest.raises(IllegalTransition) as raised:
        incident_transition(incident=incident, to="on_fire", by=commander, now=NOW)

    assert raised.value.allowed == [Status.ACKNOWLEDGED, Status.RESOLVED]
    assert snapshot(incident) == before


def test_closed_is_final(declare, walk, commander):
    incident = walk(declare(), Status.CLOSED)

    for to in Status.values:
        with pytest.raises(IllegalTransition) as raised:
            incident_transition(incident=incident, to=to, by=commander, now=NOW)
        assert raised.value.allowed == []


# --- Declaring ----------------------------------------------------------------------------------


def test_declaring_numbers_incidents_inc_1_inc_2_and_so_on(declare, commander):
    first, second, third = (declare(title=f"outage {n}") for n in range(3))

    assert [first.ref, second.ref, third.ref] == ["INC-1", "INC-2", "INC-3"]
    declared = TimelineEvent.objects.get(incident=second, kind=EventKind.DECLARED)
    assert declared.seq == 1
    assert declared.body.startswith("INC-2 declared as P0")
    assert declared.author == commander
    assert second.last_seq == 1
    assert second.status == Status.TRIGGERED
    assert OutboxEvent.objects.filter(incident=second, topic="incident.declared").count() == 1


def test_declaring_records_services_and_the_declared_event(declare):
    checkout, payments = ServiceFactory(slug="checkout"), ServiceFactory(slug="payments")

    incident = declare(severity="P1", services=[checkout, payments], symptom="error_rate")

    assert set(incident.services.all()) == {checkout, payments}
    assert incident.severity_policy.level == "P1"
    assert incident.detected_at == T0
    event = incident.events.get()
    assert event.kind == EventKind.DECLARED
    assert event.data["services"] == ["checkout", "payments"]
    assert event.data["severity"] == "P1"
    assert event.data["tasks_created"] == 3


def test_time_to_acknowledge_and_resolve_are_derived_from_timestamps(declare, commander):
    incident = declare(detected_at=T0 - timedelta(minutes=10), now=T0)
    assert incident.time_to_acknowledge is None
    assert incident.time_to_resolve is None

    incident = incident_transition(
        incident=incident, to=Status.ACKNOWLEDGED, by=commander, now=T0 + timedelta(minutes=5)
    )
    incident = incident_transition(
        incident=incident, to=Status.RESOLVED, by=commander, now=T0 + timedelta(minutes=50)
    )

    incident.refresh_from_db()
    assert incident.time_to_acknowledge == timedelta(minutes=15)
    assert incident.time_to_resolve == timedelta(hours=1)


# --- Tasks per step -----------------------------------------------------------------------------


def test_declaring_creates_the_three_triggered_tasks_due_from_their_templates(declare):
    incident = declare(now=T0)

    templates = list(TaskTemplate.objects.filter(on_status=Status.TRIGGERED).order_by("position"))
    assert len(templates) == 3
    tasks = list(incident.tasks.order_by("position"))
    assert [(task.template_id, task.step, task.title, task.due_at) for task in tasks] == [
        (t.pk, t.step, t.title, T0 + timedelta(minutes=t.due_minutes)) for t in templates
    ]
    assert {task.status for task in tasks} == {TaskStatus.OPEN}


@pytest.mark.parametrize(
    ("status", "steps"),
    [
        (Status.ACKNOWLEDGED, {"assess": 3, "communicate": 1}),
        (Status.INVESTIGATING, {}),
        (Status.MITIGATING, {"mitigate": 3}),
        (Status.RESOLVED, {"resolve": 3, "communicate": 3}),
        (Status.CLOSED, {}),
    ],
)
def test_entering_a_status_creates_the_tasks_of_its_templates(
    declare, walk, commander, status, steps
):
    incident = declare()
    source = {
        Status.ACKNOWLEDGED: Status.TRIGGERED,
        Status.INVESTIGATING: Status.ACKNOWLEDGED,
        Status.MITIGATING: Status.INVESTIGATING,
        Status.RESOLVED: Status.MITIGATING,
        Status.CLOSED: Status.RESOLVED,
    }[status]
    incident = walk(incident, source)
    existing = set(incident.tasks.values_list("pk", flat=True))

    incident_transition(incident=incident, to=status, by=commander, now=NOW)

    new = IncidentTask.objects.filter(incident=incident).exclude(pk__in=existing)
    assert Counter(new.values_list("step", flat=True)) == Counter(steps)
    templates = TaskTemplate.objects.filter(on_status=status)
    assert set(new.values_list("template_id", flat=True)) == set(
        templates.values_list("pk", flat=True)
    )
    for task in new.select_related("template"):
        assert task.due_at == NOW + timedelta(minutes=task.template.due_minutes)
    moved = incident.events.filter(kind=EventKind.STATUS_CHANGE).latest("seq")
    assert moved.data["tasks_created"] == sum(steps.values())


def test_acknowledging_creates_the_assess_and_communicate_tasks(declare, commander):
    incident = declare()

    incident_transition(incident=incident, to=Status.ACKNOWLEDGED, by=commander, now=NOW)

    titles = set(incident.tasks.filter(created_at=NOW).values_list("title", flat=True))
    assert titles == {
        "Scope the impact: affected services and users",
        "Confirm the severity classification",
        "Estimate customer impact",
        "Post the first stakeholder update",
    }


def test_acknowledging_completes_the_acknowledge_task_as_the_acknowledger(declare, responder):
    incident = declare()
    ack_task = incident.tasks.get(title="Acknowledge the incident")

    incident_transition(incident=incident, to=Status.ACKNOWLEDGED, by=responder, now=NOW)

    ack_task.refresh_from_db()
    assert (ack_task.status, ack_task.completed_at, ack_task.completed_by) == (
        TaskStatus.DONE,
        NOW,
        responder,
    )
    others = incident.tasks.filter(step="acknowledge").exclude(pk=ack_task.pk)
    assert set(others.values_list("status", flat=True)) == {TaskStatus.OPEN}
    event = incident.events.get(kind=EventKind.TASK)
    assert event.data == {"task_id": ack_task.pk, "action": "completed", "step": "acknowledge"}
    assert event.author == responder


def test_re_entering_a_status_never_duplicates_its_tasks(declare, walk, commander):
    incident = walk(declare(), Status.MITIGATING)
    mitigation_tasks = set(incident.tasks.filter(step="mitigate").values_list("pk", flat=True))
    assert len(mitigation_tasks) == 3
    walked_to = incident.last_seq

    for minutes, to in enumerate(
        [
            Status.INVESTIGATING,
            Status.MITIGATING,
            Status.RESOLVED,
            Status.INVESTIGATING,
            Status.RESOLVED,
        ],
        start=10,
    ):
        incident = incident_transition(
            incident=incident, to=to, by=commander, now=T0 + timedelta(minutes=minutes)
        )

    assert (
        set(incident.tasks.filter(step="mitigate").values_list("pk", flat=True)) == mitigation_tasks
    )
    assert incident.tasks.filter(step="resolve").count() == 3
    per_template = Counter(incident.tasks.values_list("template_id", flat=True))
    assert max(per_template.values()) == 1
    assert incident.tasks.count() == TaskTemplate.objects.exclude(on_status="investigating").count()
    moves = incident.events.filter(
        seq__gt=walked_to, kind__in=[EventKind.STATUS_CHANGE, EventKind.REOPENED]
    ).order_by("seq")
    # investigating, mitigating (again), resolved (first time: 6 tasks), reopen, resolved again
    assert [event.data["tasks_created"] for event in moves] == [0, 0, 6, 0, 0]


def test_inactive_templates_create_no_tasks(declare):
    TaskTemplate.objects.filter(title="Notify stakeholders (Slack and email)").update(active=False)

    incident = declare()

    assert incident.tasks.count() == 2
    assert not incident.tasks.filter(title__startswith="Notify").exists()


# --- Reopening ----------------------------------------------------------------------------------


def test_reopening_records_a_reopened_event_and_clears_resolved_at(declare, walk, commander):
    incident = walk(declare(), Status.RESOLVED)
    assert incident.resolved_at is not None

    reopened = incident_transition(
        incident=incident, to=Status.INVESTIGATING, by=commander, note="Errors are back", now=NOW
    )

    reopened.refresh_from_db()
    assert reopened.status == Status.INVESTIGATING
    assert reopened.resolved_at is None
    assert reopened.time_to_resolve is None
    event = reopened.events.latest("seq")
    assert event.kind == EventKind.REOPENED
    assert event.body == "Errors are back"
    assert event.data == {"from": "resolved", "to": "investigating", "tasks_created": 0}

    later = NOW + timedelta(minutes=30)
    resolved_again = incident_transition(
        incident=reopened, to=Status.RESOLVED, by=commander, now=later
    )
    resolved_again.refresh_from_db()
    assert resolved_again.resolved_at == later
    assert resolved_again.time_to_resolve == later - T0


# --- Notes and public updates -------------------------------------------------------------------


def test_public_update_sets_component_status_and_records_old_and_new(declare, commander):
    checkout = ServiceFactory(status=ComponentStatus.OPERATIONAL)
    search = ServiceFactory(status=ComponentStatus.DEGRADED_PERFORMANCE)
    incident = declare(services=[checkout, search])

    event = public_update_post(
        incident=incident,
        status="identified",
        body="We found the cause.",
        by=commander,
        component_status=ComponentStatus.MAJOR_OUTAGE,
        now=NOW,
    )

    checkout.refresh_from_db()
    search.refresh_from_db()
    assert checkout.status == search.status == ComponentStatus.MAJOR_OUTAGE
    assert event.kind == EventKind.PUBLIC_UPDATE
    assert event.visibility == Visibility.PUBLIC
    assert event.created_at == NOW
    assert event.data["status"] == "identified"
    changes = {
        row["code"]: (row["old_status"], row["new_status"])
        for row in event.data["affected_components"]
    }
    assert changes == {
        str(checkout.pk): ("operational", "major_outage"),
        str(search.pk): ("degraded_performance", "major_outage"),
    }
    outbox = OutboxEvent.objects.get(incident=incident, topic="incident.public_update")
    assert outbox.payload["event_seq"] == event.seq


def test_public_update_without_component_status_leaves_services_alone(declare, commander):
    checkout = ServiceFactory(status=ComponentStatus.PARTIAL_OUTAGE)
    incident = declare(services=[checkout])

    event = public_update_post(
        incident=incident, status="monitoring", body="A fix is out.", by=commander, now=NOW
    )

    checkout.refresh_from_db()
    assert checkout.status == ComponentStatus.PARTIAL_OUTAGE
    assert event.data["affected_components"] == []


@pytest.mark.parametrize(
    ("status", "component_status"),
    [("on_fire", None), ("Investigating", None), ("identified", "exploded")],
)
def test_invalid_public_update_raises_and_writes_nothing(
    declare, commander, status, component_status
):
    checkout = ServiceFactory(status=ComponentStatus.OPERATIONAL)
    incident = declare(services=[checkout])
    before = snapshot(incident)

    with pytest.raises(ValueError):
        public_update_post(
            incident=incident,
            status=status,
            body="x",
            by=commander,
            component_status=component_status,
            now=NOW,
        )

    assert snapshot(incident) == before
    checkout.refresh_from_db()
    assert checkout.status == ComponentStatus.OPERATIONAL


def test_note_is_an_internal_timeline_event(declare, responder):
    incident = declare()

    note = note_add(incident=incident, body="Looking at the DB", by=responder, now=NOW)

    assert (note.seq, note.kind, note.visibility) == (2, EventKind.NOTE, Visibility.INTERNAL)
    assert note.author == responder
    assert note.created_at == NOW


def test_closed_incident_rejects_notes_and_public_updates(declare, walk, commander):
    incident = walk(declare(), Status.CLOSED)
    before = snapshot(incident)

    with pytest.raises(IncidentClosed):
        note_add(incident=incident, body="one more thing", by=commander, now=NOW)
    with pytest.raises(IncidentClosed):
        public_update_post(incident=incident, status="resolved", body="done", by=commander)

    assert snapshot(incident) == before


WRITES_TO_CLOSED = {
    "note": lambda incident, by: note_add(incident=incident, body="one more thing", by=by, now=NOW),
    "public_update": lambda incident, by: public_update_post(
        incident=incident, status="resolved", body="done", by=by, now=NOW
    ),
}


@pytest.mark.parametrize("write", WRITES_TO_CLOSED.values(), ids=WRITES_TO_CLOSED.keys())
def test_closed_incident_rejects_writes_even_through_a_stale_instance(
    declare, walk, commander, write
):
    """A page loaded before the close still holds status 'resolved'; the row is the truth.

    Regression: note_add and public_update_post used to check `.status` of the instance they
    were handed, so a stale instance (or a close committed concurrently) put an event on a
    closed incident.
    """
    incident = walk(declare(), Status.RESOLVED)
    stale = Incident.objects.get(pk=incident.pk)
    incident_transition(incident=incident, to=Status.CLOSED, by=commander, now=NOW)
    before = snapshot(incident)

    with pytest.raises(IncidentClosed):
        write(stale, commander)

    assert snapshot(incident) == before


# --- Tasks --------------------------------------------------------------------------------------


def task_events(incident: Incident) -> list[dict]:
    return [
        event.data
        for event in TimelineEvent.objects.filter(incident=incident, kind=EventKind.TASK).order_by(
            "seq"
        )
    ]


def test_completing_a_task_records_who_and_when_once(declare, responder):
    incident = declare()
    task = incident.tasks.first()

    done = task_complete(task=task, by=responder, now=NOW)
    again = task_complete(task=task, by=responder, now=NOW + timedelta(minutes=1))

    assert (done.status, done.completed_at, done.completed_by) == (TaskStatus.DONE, NOW, responder)
    assert again.completed_at == NOW
    assert task_events(incident) == [{"task_id": task.pk, "action": "completed", "step": task.step}]
    event = incident.events.get(kind=EventKind.TASK)
    assert (event.author, event.created_at) == (responder, NOW)


@pytest.mark.parametrize("reason", ["", "   "])
def test_skipping_a_task_needs_a_reason(declare, responder, reason):
    incident = declare()
    task = incident.tasks.first()

    with pytest.raises(ValueError):
        task_skip(task=task, by=responder, reason=reason, now=NOW)

    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN
    assert task_events(incident) == []


def test_skipping_a_task_records_the_reason(declare, responder):
    incident = declare()
    task = incident.tasks.first()

    skipped = task_skip(task=task, by=responder, reason="  Paged by the alert already ", now=NOW)

    assert skipped.status == TaskStatus.SKIPPED
    assert skipped.skip_reason == "Paged by the alert already"
    assert (skipped.completed_at, skipped.completed_by) == (NOW, responder)
    assert task_events(incident) == [
        {
            "task_id": task.pk,
            "action": "skipped",
            "step": task.step,
            "reason": "Paged by the alert already",
        }
    ]


def test_assigning_a_task_records_the_assignee_once(declare, commander, responder):
    incident = declare()
    task = incident.tasks.first()

    assigned = task_assign(task=task, assignee=responder, by=commander, now=NOW)
    task_assign(task=task, assignee=responder, by=commander, now=NOW)
    task_assign(task=task, assignee=None, by=commander, now=NOW)

    assert assigned.assignee == responder
    assert [(data["action"], data["assignee"]) for data in task_events(incident)] == [
        ("assigned", "ravi"),
        ("assigned", None),
    ]


def test_reopening_a_task_clears_completion_and_records_it(declare, responder):
    incident = declare()
    task = incident.tasks.first()
    task_skip(task=task, by=responder, reason="not needed", now=NOW)

    reopened = task_reopen(task=task, by=responder, now=NOW + timedelta(minutes=2))
    task_reopen(task=task, by=responder, now=NOW + timedelta(minutes=3))

    assert reopened.status == TaskStatus.OPEN
    assert (reopened.completed_at, reopened.completed_by, reopened.skip_reason) == (None, None, "")
    assert [data["action"] for data in task_events(incident)] == ["skipped", "reopened"]
    check_timeline()


# --- Counters survive stale saves ---------------------------------------------------------------


def test_saving_a_stale_incident_does_not_roll_back_last_seq(declare, commander):
    incident = declare()
    stale = Incident.objects.get(pk=incident.pk)
    note_add(incident=incident, body="one", by=commander, now=NOW)
    note_add(incident=incident, body="two", by=commander, now=NOW)

    stale.title = "Checkout failing for EU customers"
    stale.save()

    fresh = Incident.objects.get(pk=incident.pk)
    assert fresh.title == "Checkout failing for EU customers"
    assert fresh.last_seq == 3
    assert timeline_append(incident_id=incident.pk, kind=EventKind.NOTE, body="three").seq == 4
    check_timeline()


def test_saving_a_stale_incident_does_not_roll_back_escalation_level(declare):
    incident = declare(severity="P0")
    stale = Incident.objects.get(pk=incident.pk)
    escalate_overdue(now=T0 + timedelta(minutes=1))

    stale.impact_summary = "All card payments fail"
    stale.save()

    fresh = Incident.objects.get(pk=incident.pk)
    assert fresh.impact_summary == "All card payments fail"
    assert fresh.escalation_level == 1
    assert escalate_overdue(now=T0 + timedelta(minutes=1)).acknowledgements == 0


def test_rolled_back_declaration_gives_its_number_back(declare):
    declare(title="first")

    with pytest.raises(RuntimeError), transaction.atomic():
        assert declare(title="never happened").ref == "INC-2"
        raise RuntimeError("the request failed after declaring")

    assert declare(title="second").ref == "INC-2"
    assert list(Incident.objects.order_by("number").values_list("number", flat=True)) == [1, 2]


# --- Concurrent declaring (PostgreSQL) ----------------------------------------------------------

DECLARERS = 16


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_declarations_all_succeed_with_distinct_numbers(playbook, commander):
    """An alert storm declares many incidents at once; every one must get its own number.

    Regression: numbers were MAX(number) + 1 with 5 retries of a lost race; each retry waited
    for the winner to commit, so beyond 5 concurrent declarers the rest failed with "could not
    allocate an incident number" (10-11 of 16 did).
    """

    def declare_one(thread: int) -> str:
        incident = incident_declare(title=f"storm {thread}", severity="P1", by=commander, now=T0)
        return incident.ref

    with pool_room_for(DECLARERS):
        refs = run_together(DECLARERS, declare_one)

    assert sorted(refs, key=lambda ref: int(ref[4:])) == [
        f"INC-{n}" for n in range(1, DECLARERS + 1)
    ]
    check_timeline()
