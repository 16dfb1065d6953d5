"""Maintenance windows, their checklists and log, notices, recovery procedures, backup checks."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from catalog.models import Service, Target
from ops_portal.timeline import TimelineEntry


class WindowState(models.TextChoices):
    # Statuspage's scheduled-maintenance statuses, so the public JSON needs no mapping.
    SCHEDULED = "scheduled", "Scheduled"
    IN_PROGRESS = "in_progress", "In progress"
    VERIFYING = "verifying", "Verifying"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATES = (WindowState.IN_PROGRESS, WindowState.VERIFYING)
FINISHED_STATES = (WindowState.COMPLETED, WindowState.CANCELLED)


class MaintenanceWindowQuerySet(models.QuerySet):
    def active(self):
        return self.filter(state__in=ACTIVE_STATES)

    def upcoming(self):
        return self.filter(state=WindowState.SCHEDULED)

    def past(self):
        return self.filter(state__in=FINISHED_STATES)

    def public(self):
        return self.filter(public=True)

    def for_service(self, service_id: int):
        return self.filter(services__id=service_id)


class MaintenanceWindow(models.Model):
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Markdown.")
    services = models.ManyToManyField(Service, related_name="maintenance_windows")
    scheduled_start = models.DateTimeField()
    scheduled_end = models.DateTimeField()
    state = models.CharField(
        max_length=12, choices=WindowState.choices, default=WindowState.SCHEDULED
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    rollback_plan = models.TextField(
        blank=True, help_text="Markdown. Required before the window can start."
    )
    public = models.BooleanField(
        default=True, help_text="Shown on the public status page and announced to subscribers."
    )
    started_at = models.DateTimeField(null=True, blank=True)
    verifying_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # Component statuses of the affected services when the window started, restored at the end.
    statuses_before = models.JSONField(default=dict, blank=True, editable=False)
    before_snapshot = models.ForeignKey(
        "diagnostics.Diagnosis", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    after_snapshot = models.ForeignKey(
        "diagnostics.Diagnosis", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    regression_acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    regression_acknowledged_at = models.DateTimeField(null=True, blank=True)
    last_seq = models.PositiveIntegerField(default=0, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MaintenanceWindowQuerySet.as_manager()

    class Meta:
        ordering = ["scheduled_start", "id"]
        indexes = [models.Index(fields=["state", "scheduled_start"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(scheduled_end__gt=models.F("scheduled_start")),
                name="maintenance_end_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        # `last_seq` belongs to the log (bumped in SQL by ops_portal.timeline.next_seq); a save
        # of an instance read earlier must never write its stale copy back.
        if (
            self.pk is not None
            and kwargs.get("update_fields") is None
            and not kwargs.get("force_insert")
        ):
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and f.name != "last_seq"
            ]
        super().save(*args, **kwargs)

    @property
    def ref(self) -> str:
        return f"MW-{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def is_finished(self) -> bool:
        return self.state in FINISHED_STATES


class WindowEventKind(models.TextChoices):
    CREATED = "created", "Created"
    EDITED = "edited", "Edited"
    STATE_CHANGE = "state_change", "State change"
    EXTENDED = "extended", "Extended"
    CHECKLIST = "checklist", "Checklist"
    OVERRIDE = "override", "Override"
    NOTE = "note", "Note"
    NOTICE = "notice", "Notice"
    SNAPSHOT = "snapshot", "Snapshot"
    BACKUP = "backup", "Backup verification"


class WindowEvent(TimelineEntry):
    """The log of a window, on the same append-only mechanism as incident timelines."""

    window = models.ForeignKey(MaintenanceWindow, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=WindowEventKind.choices)

    class Meta:
        ordering = ["window", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["window", "seq"], name="window_event_seq_unique")
        ]

    def __str__(self) -> str:
        return f"{self.window_id}#{self.seq} {self.kind}"


# --- Checklists -------------------------------------------------------------------------------


class ChecklistKind(models.TextChoices):
    MAINTENANCE = "maintenance", "Maintenance"
    RECOVERY = "recovery", "Recovery procedure"


class Phase(models.TextChoices):
    PRE = "pre", "Before"
    DURING = "during", "During"
    POST = "post", "After"
    # Recovery procedures have no phases: their items become incident tasks in playbook steps.
    PROCEDURE = "procedure", "Procedure"


# The phases a maintenance window's checklist has (everything but recovery procedures').
WINDOW_PHASES = (Phase.PRE, Phase.DURING, Phase.POST)


class ChecklistTemplate(models.Model):
    """An editable checklist: the maintenance checklist or a recovery procedure."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    kind = models.CharField(max_length=12, choices=ChecklistKind.choices)
    description = models.TextField(blank=True, help_text="Markdown.")
    is_default = models.BooleanField(
        default=False, help_text="Copied into new maintenance windows unless another is chosen."
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            # The service keeps exactly one default; this is the database's backstop.
            models.UniqueConstraint(
                fields=["kind"], condition=Q(is_default=True), name="one_default_checklist"
            )
        ]

    def __str__(self) -> str:
        return self.name


class ChecklistTemplateItem(models.Model):
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.CASCADE, related_name="items")
    phase = models.CharField(max_length=10, choices=Phase.choices)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    required = models.BooleanField(
        default=False, help_text="A window cannot start while a required 'before' item is open."
    )
    # For recovery procedures: the incident playbook step the task belongs to and when it is due.
    incident_step = models.CharField(max_length=20, blank=True)
    due_minutes = models.PositiveIntegerField(default=30)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["template", "phase", "position", "id"]

    def __str__(self) -> str:
        return self.title


class ChecklistItem(models.Model):
    """A window's own copy of a template item; editing the template later does not change it."""

    window = models.ForeignKey(
        MaintenanceWindow, on_delete=models.CASCADE, related_name="checklist"
    )
    phase = models.CharField(max_length=10, choices=Phase.choices)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    required = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["window", "phase", "position", "id"]

    def __str__(self) -> str:
        return self.title

    @property
    def done(self) -> bool:
        return self.done_at is not None


# --- Notices ----------------------------------------------------------------------------------


class NoticeKind(models.TextChoices):
    ADVANCE = "advance", "24 h notice"
    START = "start", "Started"
    END = "end", "Ended"
    CANCELLED = "cancelled", "Cancelled"


class MaintenanceNotice(models.Model):
    """One notice about one window: the unique key makes beat runs send it once.

    `scheduled_for` is the window time the notice is about, so a window moved after its 24 h
    notice gets a fresh one for the new time, and a restart never sends the same one again.
    """

    window = models.ForeignKey(MaintenanceWindow, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=10, choices=NoticeKind.choices)
    scheduled_for = models.DateTimeField()
    sent_at = models.DateTimeField(default=timezone.now)
    outbox_event_id = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["sent_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["window", "kind", "scheduled_for"], name="maintenance_notice_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.window_id} {self.kind} @ {self.scheduled_for:%Y-%m-%d %H:%M}"


# --- Recovery procedures on incidents ---------------------------------------------------------


class AttachedProcedure(models.Model):
    """A recovery procedure attached to an incident; its items became the incident's tasks."""

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, related_name="procedures"
    )
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.PROTECT, related_name="+")
    tasks = models.ManyToManyField("incidents.IncidentTask", related_name="+")
    attached_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    attached_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["attached_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "template"], name="procedure_once")
        ]

    def __str__(self) -> str:
        return f"{self.template} on {self.incident_id}"


# --- Backup verification ----------------------------------------------------------------------


class BackupState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
    ERROR = "error", "Error"


class BackupSchedule(models.Model):
    """Verify a PostgreSQL target's backup every `interval_hours` (claimed by the beat sweeper)."""

    target = models.OneToOneField(Target, on_delete=models.CASCADE, related_name="backup_schedule")
    dump_path = models.CharField(
        max_length=500,
        blank=True,
        help_text="A custom-format dump to restore; empty: take a fresh pg_dump of the target.",
    )
    interval_hours = models.PositiveIntegerField(default=24)
    enabled = models.BooleanField(default=True)
    next_run_at = models.DateTimeField(default=timezone.now)
    last_run_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["next_run_at"]

    def __str__(self) -> str:
        return f"Backup check of {self.target} every {self.interval_hours} h"


class BackupVerification(models.Model):
    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="backup_checks")
    window = models.ForeignKey(
        MaintenanceWindow,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="backup_checks",
    )
    schedule = models.ForeignKey(
        BackupSchedule, on_delete=models.SET_NULL, null=True, blank=True, related_name="runs"
    )
    dump_path = models.CharField(max_length=500, blank=True)
    state = models.CharField(max_length=10, choices=BackupState.choices, default=BackupState.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    scratch_database = models.CharField(max_length=63, blank=True)
    schema_diff = models.TextField(blank=True)
    # {table: {"source": n, "restored": m}} for every table of either side.
    row_counts = models.JSONField(default=dict, blank=True)
    summary = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "created_at"])]

    def __str__(self) -> str:
        return f"Backup check {self.pk} of {self.target}: {self.state}"
