"""Postmortems of incidents, their curated timeline, revisions, action items and reminders."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class PostmortemState(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    PUBLISHED = "published", "Published"


# The written sections, in document order: (field name, heading, what to write there).
SECTIONS = (
    ("summary", "Summary", "What happened, in three sentences a newcomer understands."),
    (
        "customer_impact",
        "Customer impact",
        "Who was affected, how, for how long; numbers where you have them.",
    ),
    ("detection", "Detection", "How we found out, and how fast; what would have told us sooner."),
    ("response", "Response", "What we did, in order; what helped and what slowed us down."),
    ("root_cause", "Root cause", "The underlying cause, not the trigger."),
    ("contributing_factors", "Contributing factors", "Conditions that made it worse or likelier."),
    ("five_whys", "5 whys", "Why? Why? Why? Why? Why? — one line each."),
    ("went_well", "What went well", ""),
    ("went_badly", "What went badly", ""),
    ("got_lucky", "Where we got lucky", ""),
    ("lessons", "Lessons", "What we take away; the action items follow from these."),
)
SECTION_FIELDS = tuple(name for name, _heading, _hint in SECTIONS)


class Postmortem(models.Model):
    """The blameless write-up of one incident. `revision` counts publications: editing a
    published postmortem opens revision n+1 as a draft; each publication is kept frozen."""

    incident = models.OneToOneField(
        "incidents.Incident", on_delete=models.CASCADE, related_name="postmortem"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    state = models.CharField(
        max_length=10, choices=PostmortemState.choices, default=PostmortemState.DRAFT
    )
    required = models.BooleanField(
        default=True, help_text="Required by the severity policy (reminders, on-time figures)."
    )
    due_at = models.DateTimeField()
    revision = models.PositiveIntegerField(default=1)
    # When impact began (before detection); prefilled from the earliest alert, editable.
    impact_started_at = models.DateTimeField(null=True, blank=True)
    affected_users = models.CharField(max_length=200, blank=True, help_text="e.g. '~12% of EU'")
    summary = models.TextField(blank=True)
    customer_impact = models.TextField(blank=True)
    detection = models.TextField(blank=True)
    response = models.TextField(blank=True)
    root_cause = models.TextField(blank=True)
    contributing_factors = models.TextField(blank=True)
    five_whys = models.TextField(blank=True)
    went_well = models.TextField(blank=True)
    went_badly = models.TextField(blank=True)
    got_lucky = models.TextField(blank=True)
    lessons = models.TextField(blank=True)
    customer_summary = models.TextField(
        blank=True,
        help_text="Optional customer-facing summary for the status page's incident history.",
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    first_published_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was first published (on-time figures)."
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "due_at"])]

    def __str__(self) -> str:
        return f"Postmortem of {self.incident_id}"

    @property
    def is_published(self) -> bool:
        return self.state == PostmortemState.PUBLISHED

    def is_overdue(self, now=None) -> bool:
        return self.first_published_at is None and self.due_at < (now or timezone.now())


class TimelineCuration(models.Model):
    """How the postmortem shows one incident timeline event: hidden, or with a note. The
    incident's timeline itself is never touched."""

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="curation")
    event = models.ForeignKey("incidents.TimelineEvent", on_delete=models.CASCADE, related_name="+")
    hidden = models.BooleanField(default=False)
    # Events the generator skips (e.g. notes) can be pulled into the postmortem's timeline.
    included = models.BooleanField(default=False)
    annotation = models.TextField(blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["postmortem", "event"], name="curation_once_per_event")
        ]

    def __str__(self) -> str:
        return f"{self.postmortem_id}: event {self.event_id}"


class PostmortemRevision(models.Model):
    """A frozen publication: every section, the curated timeline and the metrics as published."""

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    content = models.JSONField()
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    published_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["postmortem", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["postmortem", "number"], name="revision_once")
        ]

    def __str__(self) -> str:
        return f"{self.postmortem_id} r{self.number}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("published revisions are immutable")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("published revisions are immutable")


class ActionPriority(models.TextChoices):
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class ActionStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    WONT_DO = "wont_do", "Won't do"


OPEN_ACTION_STATUSES = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)


class ActionItemQuerySet(models.QuerySet):
    def unfinished(self):
        return self.filter(status__in=OPEN_ACTION_STATUSES)

    def overdue(self, today):
        return self.unfinished().filter(due_date__lt=today)


class ActionItem(models.Model):
    postmortem = models.ForeignKey(
        Postmortem, on_delete=models.CASCADE, related_name="action_items"
    )
    title = models.CharField(max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    due_date = models.DateField(null=True, blank=True)
    priority = models.CharField(
        max_length=10, choices=ActionPriority.choices, default=ActionPriority.MEDIUM
    )
    status = models.CharField(
        max_length=12, choices=ActionStatus.choices, default=ActionStatus.OPEN
    )
    wont_do_reason = models.CharField(max_length=500, blank=True)
    external_url = models.URLField(max_length=500, blank=True, help_text="Ticket link.")
    service = models.ForeignKey(
        "catalog.Service",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="action_items",
        help_text="The service it makes safer (counted per service).",
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ActionItemQuerySet.as_manager()

    class Meta:
        ordering = ["due_date", "id"]
        indexes = [models.Index(fields=["status", "due_date"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=ActionStatus.WONT_DO) | ~Q(wont_do_reason=""),
                name="wont_do_needs_reason",
            )
        ]

    def __str__(self) -> str:
        return self.title

    def is_overdue(self, today=None) -> bool:
        today = today or timezone.localdate()
        return (
            self.status in OPEN_ACTION_STATUSES
            and self.due_date is not None
            and self.due_date < today
        )


class ReminderKind(models.TextChoices):
    POSTMORTEM_DUE_SOON = "postmortem_due_soon", "Postmortem due within 12 h"
    POSTMORTEM_OVERDUE = "postmortem_overdue", "Postmortem overdue"
    ACTION_OVERDUE = "action_overdue", "Action item overdue"


class Reminder(models.Model):
    """One reminder sent: unique per (kind, subject, the deadline it is about), so overlapping
    beat runs send it once and a moved deadline gets its own reminder."""

    kind = models.CharField(max_length=24, choices=ReminderKind.choices)
    postmortem = models.ForeignKey(
        Postmortem, on_delete=models.CASCADE, null=True, blank=True, related_name="reminders"
    )
    action_item = models.ForeignKey(
        ActionItem, on_delete=models.CASCADE, null=True, blank=True, related_name="reminders"
    )
    deadline = models.DateTimeField()
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    outbox_event_id = models.PositiveBigIntegerField(null=True, blank=True)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "postmortem", "deadline"],
                condition=Q(postmortem__isnull=False),
                name="postmortem_reminder_once",
            ),
            models.UniqueConstraint(
                fields=["kind", "action_item", "deadline"],
                condition=Q(action_item__isnull=False),
                name="action_reminder_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} @ {self.deadline:%Y-%m-%d %H:%M}"
