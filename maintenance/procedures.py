"""Recovery procedures on incidents: attaching one turns its items into incident tasks.

The tasks are ordinary incident tasks in the playbook step each item names, so the incident page,
the task API, overdue escalation and the timeline treat them like any other; completing one goes
through incidents.services.task_complete. This module only records which procedure brought which
tasks (AttachedProcedure), so a procedure is attached once per incident and its progress can be
shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from incidents import services as incident_services
from incidents.models import Incident, IncidentTask, Status, Step, TaskStatus

from .errors import MaintenanceError
from .models import AttachedProcedure, ChecklistKind, ChecklistTemplate


def procedure_attach(
    *, incident: Incident, template: ChecklistTemplate, by, now: datetime | None = None
) -> AttachedProcedure:
    """Attach an active recovery procedure to an open incident, once.

    Each item becomes a task due `due_minutes` after now; the attach is one task event on the
    incident's timeline listing the new task ids and the procedure's name.
    """
    if template.kind != ChecklistKind.RECOVERY:
        raise MaintenanceError(
            f"“{template.name}” is a maintenance checklist, not a recovery procedure.",
            code="not_a_procedure",
        )
    if not template.active:
        raise MaintenanceError(f"“{template.name}” is inactive.", code="inactive")
    now = now or timezone.now()
    items = list(template.items.order_by("position", "id"))
    if not items:
        raise MaintenanceError(f"“{template.name}” has no items.", code="empty_procedure")
    with transaction.atomic():
        # The incident row lock serialises concurrent attaches, so the second one sees the
        # first's row here instead of failing on the unique constraint.
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        if locked.status == Status.CLOSED:
            raise MaintenanceError(f"{locked.ref} is closed.", code="incident_closed")
        existing = AttachedProcedure.objects.filter(incident=locked, template=template).first()
        if existing is not None:
            raise MaintenanceError(
                f"“{template.name}” is already attached to {locked.ref}.",
                code="already_attached",
                extra={"procedure": existing.pk},
            )
        tasks = incident_services.tasks_add(
            incident=locked,
            tasks=[
                incident_services.NewTask(
                    title=item.title,
                    description=item.description,
                    # Items saved before their step was validated fall back to mitigation,
                    # where recovery work belongs.
                    step=item.incident_step if item.incident_step in Step.values else Step.MITIGATE,
                    due_at=now + timedelta(minutes=item.due_minutes),
                    position=item.position,
                )
                for item in items
            ],
            by=by,
            body=f"Recovery procedure attached: {template.name} ({len(items)} tasks)",
            data={"procedure": template.name, "template": template.slug},
            now=now,
        )
        attached = AttachedProcedure.objects.create(
            incident=locked, template=template, attached_by=by, attached_at=now
        )
        attached.tasks.set(tasks)
    return attached


# --- Reads for the incident page and the API ---------------------------------------------------


@dataclass(frozen=True)
class Progress:
    done: int
    skipped: int
    total: int

    @property
    def finished(self) -> int:
        return self.done + self.skipped

    @property
    def percent(self) -> int:
        return round(100 * self.finished / self.total) if self.total else 100


def progress_of(procedure: AttachedProcedure) -> Progress:
    """Progress from the procedure's prefetched tasks (see `incident_procedures`)."""
    tasks = list(procedure.tasks.all())
    return Progress(
        done=sum(task.status == TaskStatus.DONE for task in tasks),
        skipped=sum(task.status == TaskStatus.SKIPPED for task in tasks),
        total=len(tasks),
    )


def incident_procedures(incident_id: int | None = None):
    """Attached procedures with template, author and tasks loaded: three queries in all."""
    queryset = AttachedProcedure.objects.select_related("template", "attached_by").prefetch_related(
        Prefetch(
            "tasks",
            queryset=IncidentTask.objects.select_related("assignee", "completed_by").order_by(
                "position", "id"
            ),
        )
    )
    if incident_id is not None:
        queryset = queryset.filter(incident_id=incident_id)
    return queryset.order_by("attached_at", "id")


def attachable_procedures():
    """Active recovery procedures, for the attach menu."""
    return ChecklistTemplate.objects.filter(kind=ChecklistKind.RECOVERY, active=True).order_by(
        "name"
    )
