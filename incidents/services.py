"""Every write to incidents: declaring, transitions, the timeline, notes, updates, tasks.

Each function runs in one transaction, appends its timeline event there, and leaves side effects
(live broadcast, subscribers) to on_commit, so a rollback leaves no trace anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from catalog.models import ComponentStatus, Service
from catalog.services import service_set_status
from ops_portal.timeline import next_seq

from . import events, gates
from .live import broadcast_appended
from .models import (
    Counter,
    EventKind,
    Incident,
    IncidentTask,
    SeverityPolicy,
    Status,
    Step,
    TaskStatus,
    TaskTemplate,
    TimelineEvent,
    Visibility,
)
from .playbook import allowed_targets

PUBLIC_UPDATE_STATUSES = ("investigating", "identified", "monitoring", "resolved")


class IllegalTransition(Exception):
    def __init__(self, current: str, to: str):
        self.current, self.to = current, to
        self.allowed = list(allowed_targets(current))
        super().__init__(
            f"Cannot move from {current} to {to}; allowed: {', '.join(self.allowed) or 'none'}."
        )


class IncidentClosed(Exception):
    """Closed incidents accept no more changes (notes included): they are the record."""


# --- Timeline ---------------------------------------------------------------------------------


def timeline_append(
    *,
    incident_id: int,
    kind: str,
    body: str = "",
    data: dict | None = None,
    visibility: str = Visibility.INTERNAL,
    author=None,
    now: datetime | None = None,
) -> TimelineEvent:
    """Append one event with the next contiguous `seq` of its incident.

    The counter lives on the incident row and is bumped with UPDATE … RETURNING inside this
    transaction: concurrent appenders queue on the row lock, and a rollback returns the number.
    """
    with transaction.atomic():
        seq = next_seq(Incident, incident_id)
        event = TimelineEvent.objects.create(
            incident_id=incident_id,
            seq=seq,
            kind=kind,
            visibility=visibility,
            author=author,
            body=body,
            data=data or {},
            created_at=now or timezone.now(),
        )
        transaction.on_commit(lambda: broadcast_appended(incident_id, event.seq))
    return event


# --- Declare ----------------------------------------------------------------------------------


def _next_number() -> int:
    """The next incident number; the counter row stays locked until the declaring transaction
    ends, so numbers are unique and a rolled-back declaration gives its number back."""
    sql = f"UPDATE {Counter._meta.db_table} SET value = value + 1 WHERE name = %s RETURNING value"  # noqa: S608 (model table name)
    for _attempt in range(2):
        with connection.cursor() as cursor:
            cursor.execute(sql, ["incident"])
            row = cursor.fetchone()
        if row is not None:
            return row[0]
        # First declaration on this database (or after a test flush): start from the highest
        # number in use. get_or_create copes with a concurrent first declaration.
        start = Incident.objects.aggregate(top=Max("number"))["top"] or 0
        Counter.objects.get_or_create(name="incident", defaults={"value": start})
    raise IntegrityError("could not allocate an incident number")


def _create_tasks(*, incident: Incident, on_status: str, now: datetime) -> list[IncidentTask]:
    """Create the tasks of the step the incident just entered (once per template)."""
    existing = set(
        IncidentTask.objects.filter(incident=incident, template__isnull=False).values_list(
            "template_id", flat=True
        )
    )
    tasks = [
        IncidentTask(
            incident=incident,
            template=template,
            step=template.step,
            title=template.title,
            description=template.description,
            due_at=now + timedelta(minutes=template.due_minutes),
            position=template.position,
            created_at=now,
        )
        for template in TaskTemplate.objects.filter(on_status=on_status, active=True)
        if template.pk not in existing
    ]
    return IncidentTask.objects.bulk_create(tasks)


def incident_declare(
    *,
    title: str,
    severity: str,
    by,
    services: Iterable[Service] = (),
    symptom: str = "other",
    commander=None,
    impact_summary: str = "",
    customer_facing: bool = False,
    detected_at: datetime | None = None,
    now: datetime | None = None,
) -> Incident:
    now = now or timezone.now()
    policy = SeverityPolicy.objects.get(level=severity)
    services = list(services)
    with transaction.atomic():
        incident = Incident.objects.create(
            number=_next_number(),
            title=title,
            severity=severity,
            severity_policy=policy,
            commander=commander,
            symptom=symptom,
            impact_summary=impact_summary,
            customer_facing=customer_facing,
            created_by=by if getattr(by, "pk", None) else None,
            detected_at=detected_at or now,
        )
        incident.services.set(services)
        tasks = _create_tasks(incident=incident, on_status=Status.TRIGGERED, now=now)
        timeline_append(
            incident_id=incident.pk,
            kind=EventKind.DECLARED,
            body=f"{incident.ref} declared as {severity}: {title}",
            data={
                "severity": severity,
                "services": [service.slug for service in services],
                "symptom": symptom,
                "commander": commander.username if commander else None,
                "tasks_created": len(tasks),
            },
            author=by if getattr(by, "pk", None) else None,
            now=now,
        )
        events.publish(
            "incident.declared",
            incident_id=incident.pk,
            payload={"ref": incident.ref, "severity": severity, "title": title},
        )
    incident.refresh_from_db()
    return incident


# --- Transitions ------------------------------------------------------------------------------


def incident_transition(
    *, incident: Incident, to: str, by, note: str = "", waiver: str = "", now=None
) -> Incident:
    """Move an incident to `to` if the playbook allows it; nothing changes otherwise.

    Evidence gates (incidents/gates.py) that fail block the move with EvidenceRequired unless
    `waiver` says why the commander goes ahead without the evidence.
    """
    now = now or timezone.now()
    waiver = waiver.strip()
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        current = locked.status
        if to not in allowed_targets(current):
            raise IllegalTransition(current, to)
        gate_outcomes = gates.evaluate(locked, current, to)
        failed_gates = [outcome for outcome in gate_outcomes if not outcome.passed]
        if failed_gates and not waiver:
            raise gates.EvidenceRequired(failed_gates)
        reopening = current == Status.RESOLVED and to == Status.INVESTIGATING
        locked.status = to
        # Any move out of triggered means someone has it in hand: it counts as acknowledging.
        newly_acknowledged = locked.acknowledged_at is None and to != Status.CLOSED
        if newly_acknowledged:
            locked.acknowledged_at = now
        if to == Status.MITIGATING and locked.mitigated_at is None:
            locked.mitigated_at = now
        if to == Status.RESOLVED:
            locked.resolved_at = now
        if to == Status.CLOSED:
            locked.closed_at = now
        if reopening:
            locked.resolved_at = None
        locked.save()
        tasks = _create_tasks(incident=locked, on_status=to, now=now)
        timeline_append(
            incident_id=locked.pk,
            kind=EventKind.REOPENED if reopening else EventKind.STATUS_CHANGE,
            body=note,
            data=_transition_data(current, to, len(tasks), gate_outcomes, failed_gates, waiver),
            author=by,
            now=now,
        )
        # Tasks this move accomplishes, including an acknowledgement implied by skipping ahead.
        done_by_move = {to, Status.ACKNOWLEDGED} if newly_acknowledged else {to}
        for task in IncidentTask.objects.filter(
            incident=locked, status=TaskStatus.OPEN, template__completed_on_status__in=done_by_move
        ):
            task_complete(task=task, by=by, now=now)
        events.publish(
            "incident.resolved" if to == Status.RESOLVED else "incident.status_changed",
            incident_id=locked.pk,
            payload={"ref": locked.ref, "from": current, "to": to, "severity": locked.severity},
        )
    return locked


def _transition_data(current, to, tasks_created, gate_outcomes, failed_gates, waiver) -> dict:
    data = {"from": current, "to": to, "tasks_created": tasks_created}
    if gate_outcomes:
        data["gates"] = [outcome.as_dict() for outcome in gate_outcomes]
    if failed_gates:
        data["waiver"] = waiver
    return data


EDITABLE_FIELDS = (
    "title",
    "public_title",
    "severity",
    "impact_summary",
    "customer_facing",
    "symptom",
)


def incident_update(*, incident: Incident, by, now=None, **changes) -> Incident:
    """Change fields (and commander/services); each change is recorded on the timeline."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        if locked.status == Status.CLOSED:
            raise IncidentClosed(f"{locked.ref} is closed")
        diff: dict[str, list] = {}
        for field in EDITABLE_FIELDS:
            if field in changes and getattr(locked, field) != changes[field]:
                diff[field] = [getattr(locked, field), changes[field]]
                setattr(locked, field, changes[field])
        if "severity" in diff:
            locked.severity_policy = SeverityPolicy.objects.get(level=locked.severity)
        if "commander" in changes and changes["commander"] != locked.commander:
            old = locked.commander.username if locked.commander else None
            new = changes["commander"].username if changes["commander"] else None
            diff["commander"] = [old, new]
            locked.commander = changes["commander"]
        if "services" in changes:
            old = sorted(locked.services.values_list("slug", flat=True))
            new = sorted(service.slug for service in changes["services"])
            if old != new:
                diff["services"] = [old, new]
                locked.services.set(changes["services"])
        if not diff:
            return locked
        locked.save()
        timeline_append(
            incident_id=locked.pk,
            kind=EventKind.FIELD_CHANGE,
            body=", ".join(f"{field}: {old} → {new}" for field, (old, new) in diff.items()),
            data={"changes": diff},
            author=by,
            now=now,
        )
        if "severity" in diff:
            events.publish(
                "incident.severity_changed",
                incident_id=locked.pk,
                payload={"ref": locked.ref, "from": diff["severity"][0], "to": locked.severity},
            )
    return locked


def responder_join(*, incident: Incident, user, by=None) -> None:
    with transaction.atomic():
        if incident.responders.filter(pk=user.pk).exists():
            return
        incident.responders.add(user)
        timeline_append(
            incident_id=incident.pk,
            kind=EventKind.FIELD_CHANGE,
            body=f"{user.display_name} joined as responder",
            data={"responder_added": user.username},
            author=by or user,
        )


# --- Notes and public updates -----------------------------------------------------------------


def _lock_unless_closed(incident: Incident) -> Incident:
    """Lock the incident row and refuse if it is closed: the row decides, not the (possibly
    stale) instance a page or request loaded earlier."""
    locked = Incident.objects.select_for_update().get(pk=incident.pk)
    if locked.status == Status.CLOSED:
        raise IncidentClosed(f"{locked.ref} is closed")
    return locked


def note_add(*, incident: Incident, body: str, by, now=None) -> TimelineEvent:
    with transaction.atomic():
        _lock_unless_closed(incident)
        return timeline_append(
            incident_id=incident.pk, kind=EventKind.NOTE, body=body, author=by, now=now
        )


def public_update_post(
    *,
    incident: Incident,
    status: str,
    body: str,
    by,
    component_status: str | None = None,
    now=None,
) -> TimelineEvent:
    """Publish a status-page update; optionally set the affected services' component status."""
    if status not in PUBLIC_UPDATE_STATUSES:
        raise ValueError(f"unknown public update status {status!r}")
    with transaction.atomic():
        _lock_unless_closed(incident)
        affected = []
        if component_status:
            component_status = ComponentStatus(component_status)
            for service in incident.services.select_for_update().order_by("pk"):
                old = service.status
                service_set_status(service=service, status=component_status, now=now)
                affected.append(
                    {
                        "code": str(service.pk),
                        "name": service.public_name,
                        "old_status": old,
                        "new_status": component_status.value,
                    }
                )
        event = timeline_append(
            incident_id=incident.pk,
            kind=EventKind.PUBLIC_UPDATE,
            visibility=Visibility.PUBLIC,
            body=body,
            data={"status": status, "affected_components": affected},
            author=by,
            now=now,
        )
        events.publish(
            "incident.public_update",
            incident_id=incident.pk,
            payload={"ref": incident.ref, "status": status, "event_seq": event.seq},
        )
    return event


# --- Tasks ------------------------------------------------------------------------------------


def _task_event(task: IncidentTask, action: str, by, now, extra: dict | None = None) -> None:
    timeline_append(
        incident_id=task.incident_id,
        kind=EventKind.TASK,
        body=f"Task {action}: {task.title}",
        data={"task_id": task.pk, "action": action, "step": task.step, **(extra or {})},
        author=by,
        now=now,
    )


@dataclass(frozen=True)
class NewTask:
    """A task another app brings to an incident, outside the playbook's templates."""

    title: str
    step: str
    due_at: datetime
    description: str = ""
    position: int = 0


def tasks_add(
    *,
    incident: Incident,
    tasks: Sequence[NewTask],
    by,
    body: str = "",
    data: dict | None = None,
    now: datetime | None = None,
) -> list[IncidentTask]:
    """Add tasks to an open incident, recorded as one timeline event.

    For apps that bring a list at once (a recovery procedure): one event saying what was added
    reads better than one per task. The event's data is {"action": "added", "task_ids",
    "steps"} plus the caller's `data` (what the tasks came from). Completing them afterwards
    goes through task_complete & co. like any playbook task.
    """
    if not tasks:
        raise ValueError("no tasks to add")
    unknown = sorted({task.step for task in tasks} - set(Step.values))
    if unknown:
        raise ValueError(f"unknown playbook steps: {', '.join(unknown)}")
    now = now or timezone.now()
    with transaction.atomic():
        _lock_unless_closed(incident)
        created = IncidentTask.objects.bulk_create(
            IncidentTask(
                incident_id=incident.pk,
                step=task.step,
                title=task.title,
                description=task.description,
                due_at=task.due_at,
                position=task.position,
                created_at=now,
            )
            for task in tasks
        )
        timeline_append(
            incident_id=incident.pk,
            kind=EventKind.TASK,
            body=body or f"{len(created)} task{'s' if len(created) != 1 else ''} added",
            data={
                "action": "added",
                "task_ids": [task.pk for task in created],
                "steps": sorted({task.step for task in created}),
                **(data or {}),
            },
            author=by,
            now=now,
        )
    return created


def task_complete(*, task: IncidentTask, by, now=None) -> IncidentTask:
    now = now or timezone.now()
    with transaction.atomic():
        task = IncidentTask.objects.select_for_update().get(pk=task.pk)
        if task.status != TaskStatus.OPEN:
            return task
        task.status, task.completed_at, task.completed_by = TaskStatus.DONE, now, by
        task.save(update_fields=["status", "completed_at", "completed_by"])
        _task_event(task, "completed", by, now)
    return task


def task_skip(*, task: IncidentTask, by, reason: str, now=None) -> IncidentTask:
    reason = reason.strip()
    if not reason:
        raise ValueError("a reason is required to skip a task")
    now = now or timezone.now()
    with transaction.atomic():
        task = IncidentTask.objects.select_for_update().get(pk=task.pk)
        if task.status != TaskStatus.OPEN:
            return task
        task.status, task.completed_at, task.completed_by = TaskStatus.SKIPPED, now, by
        task.skip_reason = reason[:500]
        task.save(update_fields=["status", "completed_at", "completed_by", "skip_reason"])
        _task_event(task, "skipped", by, now, {"reason": task.skip_reason})
    return task


def task_reopen(*, task: IncidentTask, by, now=None) -> IncidentTask:
    now = now or timezone.now()
    with transaction.atomic():
        task = IncidentTask.objects.select_for_update().get(pk=task.pk)
        if task.status == TaskStatus.OPEN:
            return task
        task.status, task.completed_at, task.completed_by, task.skip_reason = (
            TaskStatus.OPEN,
            None,
            None,
            "",
        )
        task.save(update_fields=["status", "completed_at", "completed_by", "skip_reason"])
        _task_event(task, "reopened", by, now)
    return task


def task_assign(*, task: IncidentTask, assignee, by, now=None) -> IncidentTask:
    with transaction.atomic():
        task = IncidentTask.objects.select_for_update().get(pk=task.pk)
        if task.assignee_id == (assignee.pk if assignee else None):
            return task
        task.assignee = assignee
        task.save(update_fields=["assignee"])
        _task_event(
            task, "assigned", by, now, {"assignee": assignee.username if assignee else None}
        )
    return task
