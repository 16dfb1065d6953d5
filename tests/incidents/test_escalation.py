"""Escalation sweeps: once per breach and level, fenced by acknowledgement, business days for P3."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from incidents.business_hours import next_business_day_start
from incidents.escalation import SweepResult, escalate_overdue, escalation_deadline
from incidents.models import (
    Escalation,
    EventKind,
    Incident,
    IncidentTask,
    OutboxEvent,
    Status,
    TaskStatus,
    TimelineEvent,
)
from incidents.services import incident_transition, task_complete, task_skip

from .support import T0, check_timeline, pool_room_for, run_together

BERLIN = ZoneInfo("Europe/Berlin")


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def ack_levels(incident: Incident) -> list[int]:
    return list(
        Escalation.objects.filter(incident=incident, breach="ack")
        .order_by("level")
        .values_list("level", flat=True)
    )


def escalated_tasks(incident: Incident) -> set[str]:
    breaches = Escalation.objects.filter(incident=incident, breach__startswith="task:")
    ids = [int(breach.split(":")[1]) for breach in breaches.values_list("breach", flat=True)]
    return set(IncidentTask.objects.filter(pk__in=ids).values_list("title", flat=True))


def escalation_events(incident: Incident) -> list[dict]:
    return [
        event.data
        for event in TimelineEvent.objects.filter(
            incident=incident, kind=EventKind.ESCALATION
        ).order_by("seq")
    ]


def escalated_outbox(incident: Incident) -> list[dict]:
    return [
        event.payload
        for event in OutboxEvent.objects.filter(
            incident=incident, topic="incident.escalated"
        ).order_by("pk")
    ]


# --- Acknowledgement escalation -----------------------------------------------------------------


def test_overdue_unacknowledged_p0_escalates_once(declare):
    incident = declare(severity="P0", now=T0)

    result = escalate_overdue(now=T0 + minutes(1))

    assert result == SweepResult(acknowledgements=1, tasks=0)
    assert ack_levels(incident) == [1]
    assert escalation_events(incident) == [{"breach": "ack", "level": 1, "waited_minutes": 1}]
    assert incident.events.get(kind=EventKind.ESCALATION).created_at == T0 + minutes(1)
    assert escalated_outbox(incident) == [
        {"ref": "INC-1", "severity": "P0", "breach": "ack", "level": 1}
    ]
    incident.refresh_from_db()
    assert incident.escalation_level == 1
    check_timeline()


def test_second_sweep_at_the_same_time_does_not_escalate_again(declare):
    incident = declare(severity="P0", now=T0)
    escalate_overdue(now=T0 + minutes(1))
    before = incident.events.count(), OutboxEvent.objects.count(), Escalation.objects.count()

    result = escalate_overdue(now=T0 + minutes(1))

    assert result == SweepResult(acknowledgements=0, tasks=0)
    assert (incident.events.count(), OutboxEvent.objects.count(), Escalation.objects.count()) == (
        before
    )


def test_later_sweeps_reach_level_2_then_3_and_stop_at_the_maximum(declare, settings):
    assert settings.ESCALATION_MAX_LEVEL == 3
    incident = declare(severity="P0", now=T0)  # escalates at once, then every 15 min

    levels = []
    for now in [
        T0,
        T0 + minutes(14.9),
        T0 + minutes(15),
        T0 + minutes(29),
        T0 + minutes(30),
        T0 + minutes(45),
        T0 + timedelta(days=2),
    ]:
        escalate_overdue(now=now)
        levels.append(ack_levels(incident))

    assert levels == [[1], [1], [1, 2], [1, 2], [1, 2, 3], [1, 2, 3], [1, 2, 3]]
    assert [data["level"] for data in escalation_events(incident) if data["breach"] == "ack"] == [
        1,
        2,
        3,
    ]
    assert [p["level"] for p in escalated_outbox(incident) if p["breach"] == "ack"] == [1, 2, 3]
    assert Incident.objects.get(pk=incident.pk).escalation_level == 3


def test_a_late_first_sweep_catches_up_every_level_due(declare):
    incident = declare(severity="P0", now=T0)

    result = escalate_overdue(now=T0 + minutes(31))

    assert result.acknowledgements == 3
    assert ack_levels(incident) == [1, 2, 3]


def test_maximum_level_comes_from_settings(declare, settings):
    settings.ESCALATION_MAX_LEVEL = 5
    incident = declare(severity="P0", now=T0)

    escalate_overdue(now=T0 + timedelta(hours=5))

    assert ack_levels(incident) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(("severity", "after"), [("P0", 0), ("P1", 30), ("P2", 120)])
def test_escalation_waits_for_the_policy_delay(declare, severity, after):
    incident = declare(severity=severity, now=T0)
    assert escalation_deadline(incident) == T0 + minutes(after)

    escalate_overdue(now=T0 + minutes(after) - timedelta(seconds=1))
    assert ack_levels(incident) == []

    escalate_overdue(now=T0 + minutes(after))
    assert ack_levels(incident) == [1]


def test_acknowledged_incident_never_escalates(declare, commander):
    incident = declare(severity="P1", now=T0)
    incident_transition(
        incident=incident, to=Status.ACKNOWLEDGED, by=commander, now=T0 + minutes(10)
    )

    for now in [T0 + minutes(30), T0 + timedelta(hours=3), T0 + timedelta(days=3)]:
        assert escalate_overdue(now=now).acknowledgements == 0

    assert ack_levels(incident) == []
    assert Incident.objects.get(pk=incident.pk).escalation_level == 0


def test_acknowledging_stops_further_levels(declare, commander):
    incident = declare(severity="P0", now=T0)
    escalate_overdue(now=T0 + minutes(1))
    incident_transition(
        incident=incident, to=Status.ACKNOWLEDGED, by=commander, now=T0 + minutes(3)
    )

    escalate_overdue(now=T0 + timedelta(hours=2))

    assert ack_levels(incident) == [1]


def test_acknowledging_in_time_leaves_no_acknowledge_task_to_escalate(declare, commander):
    incident = declare(severity="P0", now=T0)
    incident_transition(
        incident=incident, to=Status.ACKNOWLEDGED, by=commander, now=T0 + minutes(2)
    )

    escalate_overdue(now=T0 + minutes(20))

    assert "Acknowledge the incident" not in escalated_tasks(incident)


def test_resolved_false_alarm_leaves_no_acknowledge_task_to_escalate(declare, commander):
    """Resolving straight from triggered counts as acknowledged (acknowledged_at is stamped).

    Regression: only entering 'acknowledged' completed the 'Acknowledge the incident' task, so
    a false alarm resolved within a minute kept it open and the sweep escalated it afterwards:
    "Playbook task overdue: Acknowledge the incident" on an incident already resolved.
    """
    incident = declare(severity="P0", now=T0 - minutes(1))  # escalation sweeps not run yet
    incident_transition(incident=incident, to=Status.RESOLVED, by=commander, now=T0)

    escalate_overdue(now=T0 + minutes(20))

    assert ack_levels(incident) == []
    assert "Acknowledge the incident" not in escalated_tasks(incident)


def test_resolved_incident_does_not_escalate_acknowledgement(declare, commander):
    incident = declare(severity="P0", now=T0 - minutes(1))
    incident_transition(incident=incident, to=Status.RESOLVED, by=commander, now=T0)

    assert escalate_overdue(now=T0 + timedelta(hours=1)).acknowledgements == 0
    assert ack_levels(incident) == []


# --- Overdue tasks ------------------------------------------------------------------------------


def test_overdue_open_tasks_escalate_once_each(declare):
    # P2 escalates acknowledgement only after 2 h: these sweeps see task breaches alone.
    incident = declare(severity="P2", now=T0)
    tasks = {task.title: task for task in incident.tasks.all()}

    first = escalate_overdue(now=T0 + minutes(6))
    again = escalate_overdue(now=T0 + minutes(6))
    later = escalate_overdue(now=T0 + minutes(16))
    much_later = escalate_overdue(now=T0 + minutes(100))

    assert [first, again, later, much_later] == [
        SweepResult(acknowledgements=0, tasks=2),
        SweepResult(),
        SweepResult(acknowledgements=0, tasks=1),
        SweepResult(),
    ]
    assert escalated_tasks(incident) == set(tasks)
    ack_task = IncidentTask.objects.get(pk=tasks["Acknowledge the incident"].pk)
    assert ack_task.escalated_at == T0 + minutes(6)
    assert ack_task.status == TaskStatus.OPEN
    events = {data["task_id"]: data for data in escalation_events(incident)}
    assert events[ack_task.pk] == {
        "breach": f"task:{ack_task.pk}",
        "level": 1,
        "task_id": ack_task.pk,
        "step": "acknowledge",
    }
    assert sorted(p["task"] for p in escalated_outbox(incident)) == sorted(tasks)
    assert {p["breach"] for p in escalated_outbox(incident)} == {
        f"task:{t.pk}" for t in tasks.values()
    }
    check_timeline()


def test_task_is_not_overdue_at_its_due_time(declare):
    incident = declare(severity="P2", now=T0)

    assert escalate_overdue(now=T0 + minutes(5)).tasks == 0
    assert escalated_tasks(incident) == set()


def test_done_and_skipped_tasks_do_not_escalate(declare, responder):
    incident = declare(severity="P2", now=T0)
    first, second, third = incident.tasks.order_by("position")
    task_complete(task=first, by=responder, now=T0 + minutes(1))
    task_skip(task=second, by=responder, reason="covered by the pager", now=T0 + minutes(1))

    escalate_overdue(now=T0 + minutes(30))

    assert escalated_tasks(incident) == {third.title}


def test_resolved_incident_escalates_only_its_follow_up_tasks(declare, walk):
    # Walked to resolved at T0+4 min: the response-step tasks it outran stay open and overdue.
    incident = walk(declare(severity="P2", now=T0), Status.RESOLVED)
    outran = set(
        incident.tasks.filter(status=TaskStatus.OPEN)
        .exclude(step__in=["resolve", "communicate"])
        .values_list("title", flat=True)
    )
    assert outran  # e.g. "Notify stakeholders", the mitigation tasks

    escalate_overdue(now=T0 + timedelta(hours=2))

    # Follow-up work due by then: the resolution update (60 min) and, being a 'communicate'
    # task, the first stakeholder update created on acknowledging (30 min).
    assert escalated_tasks(incident) == {
        "Send the resolution update to stakeholders",
        "Post the first stakeholder update",
    }
    assert not outran & escalated_tasks(incident)


def test_tasks_of_a_closed_incident_do_not_escalate(declare, walk):
    incident = walk(declare(severity="P2", now=T0), Status.CLOSED)

    result = escalate_overdue(now=T0 + timedelta(days=10))

    assert result == SweepResult()
    assert not Escalation.objects.filter(incident=incident).exists()


# --- Overlapping sweeps (PostgreSQL) ------------------------------------------------------------

SWEEPERS = 4
INCIDENTS_PER_SEVERITY = 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_overlapping_sweeps_escalate_each_breach_and_level_exactly_once(declare, record_property):
    p0s = [
        declare(severity="P0", title=f"Payments down {n}", now=T0)
        for n in range(INCIDENTS_PER_SEVERITY)
    ]
    p2s = [
        declare(severity="P2", title=f"Search slow {n}", now=T0)
        for n in range(INCIDENTS_PER_SEVERITY)
    ]
    totals = []

    with pool_room_for(SWEEPERS):
        for now in [T0, T0 + minutes(6), T0 + minutes(16), T0 + minutes(31), T0 + minutes(150)]:
            results = run_together(SWEEPERS, lambda _thread, now=now: escalate_overdue(now=now))
            totals.append((sum(r.acknowledgements for r in results), sum(r.tasks for r in results)))

    # T0: each P0 at level 1; +6: the two 5-minute tasks of every incident; +16: P0 level 2
    # and every 15-minute task; +31: P0 level 3; +150: P2 level 1 (due after 120 minutes).
    n = INCIDENTS_PER_SEVERITY
    assert totals == [(n, 0), (0, 4 * n), (n, 2 * n), (n, 0), (n, 0)]
    for incident in p0s:
        assert ack_levels(incident) == [1, 2, 3]
    for incident in p2s:
        assert ack_levels(incident) == [1]
    for incident in p0s + p2s:
        rows = list(Escalation.objects.filter(incident=incident).values_list("breach", "level"))
        assert len(rows) == len(set(rows))
        assert len(escalation_events(incident)) == len(rows)
        assert len(escalated_outbox(incident)) == len(rows)
        assert len(escalated_tasks(incident)) == 3
    assert "All timelines contiguous." in check_timeline()
    record_property("sweepers", SWEEPERS)


# --- P3: next business day ----------------------------------------------------------------------


@pytest.fixture
def business_hours_berlin(settings):
    settings.BUSINESS_TIME_ZONE = "Europe/Berlin"
    settings.BUSINESS_HOURS_START = "09:00"
    settings.BUSINESS_DAYS = (0, 1, 2, 3, 4)


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("detected", "opening"),
    [
        pytest.param(berlin(2025, 6, 6, 10), berlin(2025, 6, 9, 9), id="friday-to-monday"),
        pytest.param(berlin(2025, 6, 7, 14), berlin(2025, 6, 9, 9), id="saturday-to-monday"),
        pytest.param(berlin(2025, 6, 8, 23, 30), berlin(2025, 6, 9, 9), id="sunday-night"),
        pytest.param(berlin(2025, 6, 9, 8), berlin(2025, 6, 10, 9), id="monday-early-to-tuesday"),
        pytest.param(berlin(2025, 6, 4, 17), berlin(2025, 6, 5, 9), id="wednesday-to-thursday"),
        # 23:30 UTC on Thursday is already Friday in Berlin: the Berlin date counts.
        pytest.param(
            datetime(2025, 6, 5, 23, 30, tzinfo=UTC), berlin(2025, 6, 9, 9), id="utc-input"
        ),
        # Clocks go forward on Sunday 30 March 2025: Monday opens at 07:00 UTC, not 08:00.
        pytest.param(
            berlin(2025, 3, 28, 10), datetime(2025, 3, 31, 7, tzinfo=UTC), id="dst-spring"
        ),
        # Clocks go back on Sunday 26 October 2025: Monday opens at 08:00 UTC, not 07:00.
        pytest.param(
            berlin(2025, 10, 24, 10), datetime(2025, 10, 27, 8, tzinfo=UTC), id="dst-autumn"
        ),
    ],
)
def test_next_business_day_start_in_berlin(business_hours_berlin, detected, opening):
    assert next_business_day_start(detected) == opening


def test_next_business_day_start_in_utc(settings):
    settings.BUSINESS_TIME_ZONE = "UTC"
    settings.BUSINESS_HOURS_START = "09:00"
    settings.BUSINESS_DAYS = (0, 1, 2, 3, 4)

    friday = datetime(2025, 6, 6, 10, tzinfo=UTC)

    assert next_business_day_start(friday) == datetime(2025, 6, 9, 9, tzinfo=UTC)


def test_business_days_come_from_settings(business_hours_berlin, settings):
    settings.BUSINESS_DAYS = (6, 0, 1, 2, 3)  # Sunday to Thursday
    settings.BUSINESS_HOURS_START = "08:30"

    assert next_business_day_start(berlin(2025, 6, 5, 10)) == berlin(2025, 6, 8, 8, 30)


@pytest.mark.parametrize(
    ("detected", "quiet", "due"),
    [
        pytest.param(
            berlin(2025, 6, 6, 10),
            [berlin(2025, 6, 6, 18), berlin(2025, 6, 7, 12), berlin(2025, 6, 8, 23, 59)],
            berlin(2025, 6, 9, 9),
            id="friday",
        ),
        pytest.param(
            berlin(2025, 6, 7, 11),
            [berlin(2025, 6, 7, 12), berlin(2025, 6, 8, 12)],
            berlin(2025, 6, 9, 9),
            id="saturday",
        ),
        pytest.param(
            berlin(2025, 6, 9, 8),
            [berlin(2025, 6, 9, 9), berlin(2025, 6, 9, 17), berlin(2025, 6, 10, 8, 59)],
            berlin(2025, 6, 10, 9),
            id="monday-before-opening",
        ),
        pytest.param(
            berlin(2025, 3, 28, 10),
            [datetime(2025, 3, 31, 6, 59, tzinfo=UTC)],
            datetime(2025, 3, 31, 7, tzinfo=UTC),
            id="across-dst",
        ),
    ],
)
def test_p3_escalates_at_the_next_business_day_opening_and_not_before(
    business_hours_berlin, declare, detected, quiet, due
):
    incident = declare(severity="P3", now=detected)

    for now in quiet:
        escalate_overdue(now=now)
        assert ack_levels(incident) == [], now
    escalate_overdue(now=due - timedelta(seconds=1))
    assert ack_levels(incident) == []

    escalate_overdue(now=due)

    assert ack_levels(incident) == [1]
    assert escalation_deadline(incident) == due


def test_p3_reaches_level_2_one_response_window_after_the_opening(business_hours_berlin, declare):
    incident = declare(severity="P3", now=berlin(2025, 6, 6, 10))

    escalate_overdue(now=berlin(2025, 6, 10, 8, 59))
    assert ack_levels(incident) == [1]

    escalate_overdue(now=berlin(2025, 6, 10, 9))
    assert ack_levels(incident) == [1, 2]


def test_p3_tasks_do_not_escalate_by_policy_but_p2_tasks_do(declare):
    p3 = declare(severity="P3", now=T0)
    p2 = declare(severity="P2", now=T0)

    escalate_overdue(now=T0 + timedelta(minutes=20))  # every acknowledge-step task is overdue

    assert escalated_tasks(p3) == set()
    assert escalated_tasks(p2)  # the same tasks on a P2 escalate
