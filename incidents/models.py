"""Incidents, the severity policy, playbook tasks, the append-only timeline and escalations."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ops_portal.timeline import TimelineEntry, Visibility

__all__ = ["Visibility"]  # re-exported: incidents code and tests import it from here


class Severity(models.TextChoices):
    P0 = "P0", "P0 · Critical"
    P1 = "P1", "P1 · High"
    P2 = "P2", "P2 · Medium"
    P3 = "P3", "P3 · Low"


class Status(models.TextChoices):
    TRIGGERED = "triggered", "Triggered"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    INVESTIGATING = "investigating", "Investigating"
    MITIGATING = "mitigating", "Mitigating"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


OPEN_STATUSES = (Status.TRIGGERED, Status.ACKNOWLEDGED, Status.INVESTIGATING, Status.MITIGATING)


class Step(models.TextChoices):
    """The five steps of the response playbook."""

    ACKNOWLEDGE = "acknowledge", "Acknowledge"
    ASSESS = "assess", "Assess"
    MITIGATE = "mitigate", "Mitigate"
    RESOLVE = "resolve", "Resolve"
    COMMUNICATE = "communicate", "Communicate"


class Symptom(models.TextChoices):
    """What people observe; runbooks map these to probe sets."""

    SERVICE_UNAVAILABLE = "service_unavailable", "Service unavailable / 503"
    HIGH_LATENCY = "high_latency", "High response times"
    ERROR_RATE = "error_rate", "High error rate"
    CONNECTION_POOL = "connection_pool_exhaustion", "Connection-pool exhaustion"
    SLOW_QUERIES = "slow_queries", "Slow database queries"
    REDIS_MEMORY = "redis_memory", "Redis memory pressure"
    CACHE_MISSES = "cache_misses", "Cache misses"
    CONSUMER_LAG = "consumer_lag", "Kafka consumer lag"
    DEAD_LETTERS = "dead_letters", "Messages in dead-letter queue"
    CPU = "cpu", "High CPU"
    MEMORY = "memory", "Memory pressure / OOM"
    NETWORK = "network", "Network problems"
    REPLICATION_LAG = "replication_lag", "Replication lag"
    BACKUP = "backup_verification", "Backup verification failed"
    OTHER = "other", "Other"


class SeverityPolicy(models.Model):
    """What each severity means and how fast we must respond (seeded, editable by admins)."""

    level = models.CharField(max_length=2, choices=Severity.choices, unique=True)
    name = models.CharField(max_length=40)
    description = models.TextField()
    examples = models.TextField(blank=True)
    response_minutes = models.PositiveIntegerField(
        help_text="Acknowledge within this many minutes."
    )
    escalate_after_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Escalate if still unacknowledged after this many minutes (0 = immediately).",
    )
    escalate_next_business_day = models.BooleanField(
        default=False, help_text="Escalate at the start of the next business day instead."
    )
    requires_postmortem = models.BooleanField(default=False)
    require_diagnosis_to_mitigate = models.BooleanField(
        default=False,
        help_text="Evidence gate: leaving assessment for mitigation needs a finished diagnosis "
        "run on the incident, or a commander's recorded reason to go ahead without one.",
    )
    escalate_overdue_tasks = models.BooleanField(
        default=True,
        help_text="Escalate playbook tasks that pass their due time (off for low severities, "
        "whose tasks should not page anyone minutes after declaring).",
    )

    class Meta:
        ordering = ["level"]
        verbose_name_plural = "severity policies"

    def __str__(self) -> str:
        return f"{self.level} {self.name}"


class Counter(models.Model):
    """A named gapless counter (incident numbers), bumped with UPDATE … RETURNING so concurrent
    declarations queue on one row instead of racing for MAX(number) + 1."""

    name = models.CharField(max_length=40, primary_key=True)
    value = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


class IncidentQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status__in=OPEN_STATUSES)

    def for_listing(self):
        return self.select_related("commander", "severity_policy").prefetch_related("services")


class Incident(models.Model):
    number = models.PositiveIntegerField(unique=True, editable=False)
    title = models.CharField(max_length=200)
    public_title = models.CharField(
        max_length=200, blank=True, help_text="Title on the status page; the title when empty."
    )
    severity = models.CharField(max_length=2, choices=Severity.choices)
    severity_policy = models.ForeignKey(SeverityPolicy, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.TRIGGERED)
    commander = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="commanded_incidents",
    )
    responders = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="responded_incidents", blank=True
    )
    services = models.ManyToManyField("catalog.Service", related_name="incidents", blank=True)
    symptom = models.CharField(max_length=40, choices=Symptom.choices, default=Symptom.OTHER)
    impact_summary = models.TextField(blank=True)
    customer_facing = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    detected_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    mitigated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Highest timeline seq handed out; bumped with UPDATE … RETURNING in the appending
    # transaction so seqs stay gapless (a rollback rolls the counter back too).
    last_seq = models.PositiveIntegerField(default=0, editable=False)
    # Highest escalation level reached for acknowledgement; also the fencing token escalation
    # tasks compare against.
    escalation_level = models.PositiveSmallIntegerField(default=0, editable=False)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-number"]
        indexes = [models.Index(fields=["status", "severity"])]

    def __str__(self) -> str:
        return f"{self.ref} {self.title}"

    # Written only by UPDATE statements of their own (timeline_append, the escalation sweep);
    # a full save() of a stale instance must never roll them back.
    COUNTER_FIELDS = ("last_seq", "escalation_level")

    def save(self, *args, **kwargs):
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name not in self.COUNTER_FIELDS
            ]
        super().save(*args, **kwargs)

    @property
    def ref(self) -> str:
        return f"INC-{self.number}"

    @property
    def display_public_title(self) -> str:
        return self.public_title or self.title

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def time_to_acknowledge(self) -> timedelta | None:
        return self.acknowledged_at - self.detected_at if self.acknowledged_at else None

    @property
    def time_to_resolve(self) -> timedelta | None:
        return self.resolved_at - self.detected_at if self.resolved_at else None

    @property
    def respond_by(self) -> timedelta:
        return self.detected_at + timedelta(minutes=self.severity_policy.response_minutes)


class TaskTemplate(models.Model):
    """A playbook task created when an incident enters `on_status` (editable by admins)."""

    step = models.CharField(max_length=20, choices=Step.choices)
    on_status = models.CharField(
        max_length=20,
        choices=Status.choices,
        help_text="Created when the incident enters this status.",
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    due_minutes = models.PositiveIntegerField(
        help_text="Due this long after the status is entered."
    )
    completed_on_status = models.CharField(
        max_length=20,
        choices=Status.choices,
        blank=True,
        help_text="Completed automatically when the incident enters this status (e.g. the "
        "'Acknowledge' task on acknowledgement).",
    )
    position = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.get_step_display()}: {self.title}"


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    SKIPPED = "skipped", "Skipped"


class IncidentTask(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="tasks")
    template = models.ForeignKey(TaskTemplate, on_delete=models.SET_NULL, null=True, blank=True)
    step = models.CharField(max_length=20, choices=Step.choices)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    due_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    skip_reason = models.CharField(max_length=500, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True, editable=False)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_at", "position", "id"]
        constraints = [
            # One task per template per incident: re-entering a status never duplicates tasks.
            models.UniqueConstraint(
                fields=["incident", "template"],
                condition=Q(template__isnull=False),
                name="task_once_per_template",
            )
        ]

    def __str__(self) -> str:
        return self.title

    def is_overdue(self, now=None) -> bool:
        return self.status == TaskStatus.OPEN and self.due_at < (now or timezone.now())


class EventKind(models.TextChoices):
    DECLARED = "declared", "Declared"
    STATUS_CHANGE = "status_change", "Status change"
    REOPENED = "reopened", "Reopened"
    NOTE = "note", "Note"
    PUBLIC_UPDATE = "public_update", "Public update"
    FIELD_CHANGE = "field_change", "Field change"
    TASK = "task", "Task"
    ESCALATION = "escalation", "Escalation"
    ALERT = "alert", "Alert"
    PROBE_RESULT = "probe_result", "Probe result"
    REMEDIATION = "remediation", "Remediation"
    NOTIFICATION = "notification", "Notification"
    POSTMORTEM = "postmortem", "Postmortem"


class TimelineEvent(TimelineEntry):
    """One immutable entry of an incident's timeline; `seq` is contiguous per incident."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=EventKind.choices)

    class Meta:
        ordering = ["incident", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "seq"], name="timeline_seq_unique")
        ]

    def __str__(self) -> str:
        return f"{self.incident_id}#{self.seq} {self.kind}"


class Escalation(models.Model):
    """One escalation of one breach at one level: the unique key makes it happen once."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="escalations")
    breach = models.CharField(max_length=60, help_text="'ack' or 'task:<id>'.")
    level = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "breach", "level"], name="escalation_once_per_level"
            )
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.breach} L{self.level}"


class OutboxEvent(models.Model):
    """A domain event for other apps (notifications) to deliver later; written in the same
    transaction as the change, so a rollback sends nothing and a broker outage loses nothing."""

    topic = models.CharField(max_length=60)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+", null=True)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["processed_at", "created_at"])]

    def __str__(self) -> str:
        return f"{self.topic} ({self.incident_id})"
