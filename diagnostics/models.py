"""Runbooks (symptom → probe steps), diagnosis runs (a probe set) and probe runs (one result).

A `Diagnosis` is one set of probes started together — by a runbook when an incident is declared,
by a person from the incident or service page, or by a verification/watch — and finishes when
its last `ProbeRun` does. `remaining` counts the runs still open; the run that takes it to zero
writes the set's summary, so the summary is written exactly once without a chord or a result
backend (the embedded filesystem broker has none).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from catalog.models import ComponentStatus, Service, Target, TargetKind
from incidents.models import Incident, Symptom

from .probes.base import Status


class ProbeStatus(models.TextChoices):
    OK = Status.OK, "OK"
    WARNING = Status.WARNING, "Warning"
    CRITICAL = Status.CRITICAL, "Critical"
    ERROR = Status.ERROR, "Error"


class RunState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"


class Purpose(models.TextChoices):
    RUNBOOK = "runbook", "Runbook"
    PROBE = "probe", "Single probe"
    HEALTH_CHECK = "health_check", "Health check"
    VERIFICATION = "verification", "Resolution verification"
    WATCH = "watch", "Post-resolution watch"


class Runbook(models.Model):
    """What to look at for a symptom: probe steps on the affected services' targets."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    symptom = models.CharField(
        max_length=40,
        choices=Symptom.choices,
        blank=True,
        help_text="Declaring an incident with this symptom runs the runbook automatically.",
    )
    description = models.TextField(blank=True)
    suggested_remediations = models.TextField(
        blank=True, help_text="Markdown: what to try when the probes confirm the symptom."
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            # One automatic runbook per symptom, so a declared incident starts one probe set.
            models.UniqueConstraint(
                fields=["symptom"],
                condition=~Q(symptom="") & Q(enabled=True),
                name="runbook_one_enabled_per_symptom",
            )
        ]

    def __str__(self) -> str:
        return self.name


class RunbookStep(models.Model):
    """One probe of a runbook, run on every enabled target of its kind of each affected service."""

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField(default=0)
    title = models.CharField(max_length=200, blank=True)
    probe = models.CharField(max_length=80)
    params = models.JSONField(default=dict, blank=True)
    target_name = models.CharField(
        max_length=100,
        blank=True,
        help_text="Only targets with this name; all of the kind if empty.",
    )

    class Meta:
        ordering = ["runbook", "position", "id"]

    def __str__(self) -> str:
        return f"{self.runbook.name} #{self.position}: {self.probe}"


class DiagnosisQuerySet(models.QuerySet):
    def for_incident(self, incident_id: int):
        return self.filter(incident_id=incident_id)


class Diagnosis(models.Model):
    """A set of probe runs started together; finished when `remaining` reaches zero."""

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, null=True, blank=True, related_name="diagnoses"
    )
    service = models.ForeignKey(
        Service,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="diagnoses",
        help_text="Set for a service health check started outside an incident.",
    )
    runbook = models.ForeignKey(
        Runbook, on_delete=models.SET_NULL, null=True, blank=True, related_name="diagnoses"
    )
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    title = models.CharField(max_length=200)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    trigger = models.CharField(max_length=200, help_text="Who or what started it, in words.")
    total = models.PositiveIntegerField(default=0)
    remaining = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=ProbeStatus.choices, blank=True)
    summary = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = DiagnosisQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "diagnoses"
        indexes = [models.Index(fields=["incident", "-created_at"])]

    def __str__(self) -> str:
        return self.title

    @property
    def finished(self) -> bool:
        return self.finished_at is not None


class ProbeRunQuerySet(models.QuerySet):
    def open(self):
        return self.exclude(state=RunState.DONE)


class ProbeRun(models.Model):
    """One probe on one target: who/what started it, params, times and the stored result."""

    diagnosis = models.ForeignKey(Diagnosis, on_delete=models.CASCADE, related_name="runs")
    position = models.PositiveIntegerField(default=0)
    step = models.ForeignKey(
        RunbookStep, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    step_title = models.CharField(max_length=200, blank=True)
    probe = models.CharField(max_length=80)
    target = models.ForeignKey(
        Target, on_delete=models.SET_NULL, null=True, blank=True, related_name="probe_runs"
    )
    # Kept as text so a run stays readable after its target is deleted or renamed.
    target_label = models.CharField(max_length=220)
    target_kind = models.CharField(max_length=32, choices=TargetKind.choices)
    params = models.JSONField(default=dict, blank=True)
    timeout_s = models.FloatField()
    state = models.CharField(max_length=10, choices=RunState.choices, default=RunState.QUEUED)
    status = models.CharField(max_length=10, choices=ProbeStatus.choices, blank=True)
    summary = models.CharField(max_length=500, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    baseline = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The last ok run of this probe on this target, compared against.",
    )
    changes = models.JSONField(
        default=dict, blank=True, help_text="What differs from the baseline run."
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    objects = ProbeRunQuerySet.as_manager()

    class Meta:
        ordering = ["diagnosis", "position", "id"]
        indexes = [
            models.Index(fields=["state", "queued_at"]),
            models.Index(fields=["probe", "target", "status", "-finished_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.probe} on {self.target_label}"


class VerificationState(models.TextChoices):
    VERIFYING = "verifying", "Verifying before resolve"
    WATCHING = "watching", "Watching after resolve"
    PASSED = "passed", "Watch passed"
    FAILED = "failed", "Verification failed"
    REGRESSED = "regressed", "Regressed: incident reopened"
    CANCELLED = "cancelled", "Cancelled"


class Verification(models.Model):
    """Verified resolution: a probe set must pass before resolving, then a watch re-runs it.

    `diagnosis` is the set currently deciding (the verification run, then each watch run).
    """

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="verifications")
    runbook = models.ForeignKey(
        Runbook,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty: the affected services' health probes.",
    )
    state = models.CharField(max_length=12, choices=VerificationState.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)
    diagnosis = models.ForeignKey(
        Diagnosis, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    watch_minutes = models.PositiveIntegerField(
        default=30, help_text="After passing, re-run the set for this long (0 = no watch)."
    )
    watch_until = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)
    checks_passed = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident"],
                condition=Q(state__in=["verifying", "watching"]),
                name="verification_one_active_per_incident",
            )
        ]
        indexes = [models.Index(fields=["state", "next_check_at"])]

    def __str__(self) -> str:
        return f"verification of incident {self.incident_id}: {self.state}"


# --- Remediation actions (issue 6) ------------------------------------------------------------


class ActionState(models.TextChoices):
    PREVIEWED = "previewed", "Previewed"
    REFUSED = "refused", "Refused"
    REQUESTED = "requested", "Awaiting approval"
    APPROVED = "approved", "Approved"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    UNKNOWN = "unknown", "Outcome unknown"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Preview expired"


class ApprovalRule(models.TextChoices):
    DEFAULT = "default", "Action's default (second commander for risky actions on P0/P1)"
    NEVER = "never", "No second approval"
    HIGH_SEVERITY = "high_severity", "Second commander's approval on P0/P1 incidents"
    ALWAYS = "always", "Always a second commander's approval"


class ActionPolicy(models.Model):
    """Which actions are allowed where, and which need a second commander (admins edit).

    The most specific row wins: (target, action) > (target, any action) > (any target, action)
    > (any target, any action) > the action's own default.
    """

    target = models.ForeignKey(
        Target, on_delete=models.CASCADE, null=True, blank=True, related_name="action_policies"
    )
    action = models.CharField(max_length=80, blank=True, help_text="Empty: every action.")
    allowed = models.BooleanField(default=True)
    approval = models.CharField(
        max_length=20, choices=ApprovalRule.choices, default=ApprovalRule.DEFAULT
    )
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name_plural = "action policies"
        constraints = [
            models.UniqueConstraint(
                fields=["target", "action"],
                name="action_policy_unique",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        where = self.target or "every target"
        return f"{self.action or 'every action'} on {where}: " + (
            self.get_approval_display() if self.allowed else "not allowed"
        )


class ActionRequest(models.Model):
    """One remediation, from its preview to its outcome. Every step is on the timeline."""

    key = models.UUIDField(unique=True, help_text="Identity of the request (task fencing).")
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="actions")
    action = models.CharField(max_length=80)
    target = models.ForeignKey(
        Target, on_delete=models.SET_NULL, null=True, blank=True, related_name="action_requests"
    )
    target_label = models.CharField(max_length=220)
    params = models.JSONField(default=dict, blank=True)
    preview = models.JSONField(default=dict, blank=True)
    preview_token_digest = models.CharField(max_length=64, blank=True)
    preview_expires_at = models.DateTimeField(null=True, blank=True)
    from_run = models.ForeignKey(
        ProbeRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    state = models.CharField(max_length=12, choices=ActionState.choices)
    needs_approval = models.BooleanField(default=False)
    previewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(blank=True, help_text="Why (requester), or why not (rejection).")
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    timeout_s = models.FloatField(default=30)
    created_at = models.DateTimeField(auto_now_add=True)
    requested_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["incident", "-created_at"]),
            models.Index(fields=["state", "started_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.action} on {self.target_label} ({self.state})"


class ProposalState(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    DISMISSED = "dismissed", "Dismissed"


class StatusProposal(models.Model):
    """A component status suggested by critical probe results, waiting for a commander.

    Never published by itself: approving sets the public component status, dismissing records
    why not. One pending proposal per service; later critical runs add to its evidence.
    """

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    incident = models.ForeignKey(
        Incident, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    proposed_status = models.CharField(max_length=32, choices=ComponentStatus.choices)
    current_status = models.CharField(
        max_length=32, choices=ComponentStatus.choices, help_text="The status when proposed."
    )
    # [{"run_id", "probe", "target", "status", "summary"}]: the runs that found it, newest last.
    evidence = models.JSONField(default=list)
    state = models.CharField(
        max_length=10, choices=ProposalState.choices, default=ProposalState.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["service"],
                condition=Q(state="pending"),
                name="one_pending_proposal_per_service",
            )
        ]

    def __str__(self) -> str:
        return f"{self.service_id} → {self.proposed_status} ({self.state})"
