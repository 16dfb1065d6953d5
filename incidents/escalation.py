"""Escalate unacknowledged incidents and overdue playbook tasks, once per breach and level.

Deadlines are computed from rows (detected_at, the severity policy, task due times), never
from countdown tasks, so a lost message or a restart loses nothing. The Escalation row's unique
key (incident, breach, level) makes each escalation happen exactly once, even when two sweeps
overlap: the loser's INSERT fails inside its savepoint and it writes nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from . import events
from .business_hours import next_business_day_start
from .models import (
    OPEN_STATUSES,
    Escalation,
    EventKind,
    Incident,
    IncidentTask,
    Status,
    Step,
    TaskStatus,
)
from .services import timeline_append

ACK_BREACH = "ack"

# Overdue tasks that still matter: every task while the incident is open; once it is resolved,
# only the follow-up work (root cause, fix, postmortem), not the response steps it outran.
# Severities whose policy turns task escalation off (P3 by default) never escalate tasks.
ESCALATING_TASKS = Q(incident__severity_policy__escalate_overdue_tasks=True) & (
    Q(incident__status__in=OPEN_STATUSES)
    | Q(incident__status=Status.RESOLVED, step__in=(Step.RESOLVE, Step.COMMUNICATE))
)


def escalation_deadline(incident: Incident) -> datetime:
    """When an unacknowledged incident first escalates, per its severity policy."""
    policy = incident.severity_policy
    if policy.escalate_next_business_day:
        return next_business_day_start(incident.detected_at)
    minutes = policy.escalate_after_minutes
    if minutes is None:
        minutes = policy.response_minutes
    return incident.detected_at + timedelta(minutes=minutes)


def ack_level_due(incident: Incident, now: datetime) -> int:
    """Highest escalation level due now: level n at the deadline + (n-1) response windows."""
    first = escalation_deadline(incident)
    if now < first:
        return 0
    window = timedelta(minutes=max(incident.severity_policy.response_minutes, 1))
    level = 1 + int((now - first) / window)
    return min(level, settings.ESCALATION_MAX_LEVEL)


@dataclass(frozen=True)
class SweepResult:
    acknowledgements: int = 0
    tasks: int = 0


def _record(incident_id: int, breach: str, level: int, now: datetime) -> bool:
    """Insert the escalation row; False when someone else already escalated this breach."""
    try:
        with transaction.atomic():
            Escalation.objects.create(
                incident_id=incident_id, breach=breach, level=level, created_at=now
            )
        return True
    except IntegrityError:
        return False


def _escalate_ack(incident_id: int, now: datetime) -> int:
    escalated = 0
    with transaction.atomic():
        # skip_locked: a concurrent sweep holding this incident is doing this work already.
        incident = (
            Incident.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("severity_policy")
            .filter(pk=incident_id, status=Status.TRIGGERED)
            .first()
        )
        if incident is None:
            return 0  # acknowledged meanwhile (the fence), or being handled by another sweep
        due = ack_level_due(incident, now)
        for level in range(incident.escalation_level + 1, due + 1):
            if not _record(incident.pk, ACK_BREACH, level, now):
                continue
            escalated += 1
            waited = int((now - incident.detected_at).total_seconds() // 60)
            timeline_append(
                incident_id=incident.pk,
                kind=EventKind.ESCALATION,
                body=f"Escalated to level {level}: not acknowledged after {waited} min "
                f"({incident.severity} responds within "
                f"{incident.severity_policy.response_minutes} min)",
                data={"breach": ACK_BREACH, "level": level, "waited_minutes": waited},
                now=now,
            )
            events.publish(
                "incident.escalated",
                incident_id=incident.pk,
                payload={
                    "ref": incident.ref,
                    "severity": incident.severity,
                    "breach": ACK_BREACH,
                    "level": level,
                },
            )
        if due > incident.escalation_level:
            Incident.objects.filter(pk=incident.pk).update(escalation_level=due)
    return escalated


def _escalate_task(task_id: int, now: datetime) -> int:
    with transaction.atomic():
        task = (
            IncidentTask.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("incident")
            .filter(
                ESCALATING_TASKS,
                pk=task_id,
                status=TaskStatus.OPEN,
                due_at__lt=now,
                escalated_at__isnull=True,
            )
            .first()
        )
        if task is None or task.incident.status == Status.CLOSED:
            return 0
        breach = f"task:{task.pk}"
        if not _record(task.incident_id, breach, 1, now):
            return 0
        IncidentTask.objects.filter(pk=task.pk).update(escalated_at=now)
        overdue = int((now - task.due_at).total_seconds() // 60)
        timeline_append(
            incident_id=task.incident_id,
            kind=EventKind.ESCALATION,
            body=f"Playbook task overdue by {overdue} min: {task.title}",
            data={"breach": breach, "level": 1, "task_id": task.pk, "step": task.step},
            now=now,
        )
        events.publish(
            "incident.escalated",
            incident_id=task.incident_id,
            payload={"ref": task.incident.ref, "breach": breach, "level": 1, "task": task.title},
        )
    return 1


def escalate_overdue(*, now: datetime | None = None) -> SweepResult:
    """One sweep: every due acknowledgement escalation and every newly overdue task."""
    now = now or timezone.now()
    candidates = Incident.objects.filter(status=Status.TRIGGERED).values_list("pk", flat=True)
    acknowledgements = sum(_escalate_ack(pk, now) for pk in candidates)
    overdue_tasks = IncidentTask.objects.filter(
        ESCALATING_TASKS, status=TaskStatus.OPEN, due_at__lt=now, escalated_at__isnull=True
    )
    tasks = sum(_escalate_task(pk, now) for pk in overdue_tasks.values_list("pk", flat=True))
    return SweepResult(acknowledgements=acknowledgements, tasks=tasks)
