"""Integrations (where alerts come from), raw deliveries, alert groups and routing rules.

The ingestion path writes only `RawEvent` rows (see `ingest.py`); everything else is written by
the worker through `services.py`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from incidents.models import Severity, Symptom


class IntegrationKind(models.TextChoices):
    """Alert sources. Stored slugs never change (ARCHITECTURE.md plug-in rule)."""

    ALERTMANAGER = "alertmanager", "Prometheus Alertmanager"
    PAGERDUTY = "pagerduty", "PagerDuty Events API v2"
    GRAFANA = "grafana", "Grafana alerting"
    GENERIC = "generic", "Generic JSON webhook"


class RouteAction(models.TextChoices):
    AUTO = "auto", "By severity (P0/P1 open an incident, P2/P3 attach)"
    OPEN_INCIDENT = "open_incident", "Open an incident"
    ATTACH = "attach", "Attach to the service's open incident"
    RECORD = "record", "Record only"


class Integration(models.Model):
    kind = models.CharField(max_length=20, choices=IntegrationKind.choices)
    name = models.CharField(max_length=100, unique=True)
    # sha256 of the token; the token itself is shown once and never stored.
    token_digest = models.CharField(max_length=64, unique=True, editable=False)
    token_prefix = models.CharField(max_length=16, editable=False)
    enabled = models.BooleanField(default=True)
    default_service = models.ForeignKey(
        "catalog.Service", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    default_severity = models.CharField(max_length=2, choices=Severity.choices, default=Severity.P2)
    # Source severity word (PagerDuty's critical/error/warning/info, or a `severity` label)
    # → incident severity. Missing words fall back to default_severity.
    severity_map = models.JSONField(default=dict, blank=True)
    rate_limit_per_minute = models.PositiveIntegerField(
        default=0, help_text="Alerts accepted per minute; 0 uses the site default."
    )
    auto_resolve_incidents = models.BooleanField(
        default=False,
        help_text="Resolve a P2/P3 incident when all its alert groups resolve "
        "(P0/P1 incidents always wait for a person).",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    token_rotated_at = models.DateTimeField(default=timezone.now)
    disabled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


DEFAULT_SEVERITY_MAP = {"critical": "P1", "error": "P2", "warning": "P3", "info": "P3"}


class RawEvent(models.Model):
    """One accepted delivery, exactly as received: the durable hand-off between web and worker.

    `delivery_key` makes a retried delivery a no-op: Alertmanager/Grafana bodies are keyed by
    their digest (a resend is the same alerts with the same startsAt and status), any request
    with an Idempotency-Key by that key. The row is written with INSERT … ON CONFLICT DO NOTHING.
    """

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="+")
    received_at = models.DateTimeField(default=timezone.now)
    body = models.TextField()
    body_digest = models.CharField(max_length=64)
    delivery_key = models.CharField(max_length=300, null=True, blank=True)  # noqa: DJ001 (NULL = no key; unique only when set)
    alert_count = models.PositiveIntegerField(default=0)
    # Stored so a replay of the same Idempotency-Key returns the first answer.
    response = models.JSONField(default=dict)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "delivery_key"],
                condition=Q(delivery_key__isnull=False),
                name="rawevent_unique_delivery",
            )
        ]
        indexes = [
            models.Index(
                fields=["id"], condition=Q(processed_at__isnull=True), name="rawevent_pending"
            )
        ]

    def __str__(self) -> str:
        return f"raw event {self.pk} ({self.alert_count} alerts)"


class GroupStatus(models.TextChoices):
    FIRING = "firing", "Firing"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


OPEN_GROUP_STATUSES = (GroupStatus.FIRING, GroupStatus.ACKNOWLEDGED)


class AlertGroupQuerySet(models.QuerySet):
    def open(self):
        return self.exclude(status=GroupStatus.RESOLVED)

    def for_listing(self):
        return self.select_related("integration", "service", "incident")


class AlertGroup(models.Model):
    """All alerts of one integration sharing a dedup key while it is open.

    At most one open group per (integration, dedup key): a partial unique constraint, so two
    workers folding the same new alert cannot both create one. A resolved group that fires
    again starts a new group (as PagerDuty opens a new alert after a resolve).
    """

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="groups")
    dedup_key = models.CharField(max_length=255)
    status = models.CharField(
        max_length=20, choices=GroupStatus.choices, default=GroupStatus.FIRING
    )
    title = models.CharField(max_length=1024)
    source = models.CharField(max_length=255, blank=True)
    source_severity = models.CharField(max_length=40, blank=True)
    labels = models.JSONField(default=dict)
    annotations = models.JSONField(default=dict)
    links = models.JSONField(default=list)
    alert_count = models.PositiveIntegerField(default=0)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Routing outcome, set once by `group_route` (routed_at NULL = still to route).
    routed_at = models.DateTimeField(null=True, blank=True)
    rule = models.ForeignKey(
        "RoutingRule", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    service = models.ForeignKey(
        "catalog.Service", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    severity = models.CharField(max_length=2, choices=Severity.choices, blank=True)
    action = models.CharField(max_length=20, choices=RouteAction.choices, blank=True)
    suppressed = models.BooleanField(default=False, help_text="Service was in maintenance.")
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="alert_groups",
    )
    # The group status last written to the incident's timeline; differs from `status` while
    # the incident still has to hear about a change (the sweeper retries such groups).
    synced_status = models.CharField(max_length=20, blank=True)
    # Digest of the last event folded in: an identical event that follows is a retry.
    last_event_digest = models.CharField(max_length=64, blank=True)

    objects = AlertGroupQuerySet.as_manager()

    class Meta:
        ordering = ["-last_seen"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "dedup_key"],
                condition=~Q(status="resolved"),
                name="alertgroup_one_open_per_key",
            )
        ]
        indexes = [
            models.Index(fields=["status", "-last_seen"], name="alertgroup_status_seen"),
            models.Index(
                fields=["id"],
                condition=Q(routed_at__isnull=True),
                name="alertgroup_unrouted",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} [{self.dedup_key}]"

    @property
    def is_open(self) -> bool:
        return self.status != GroupStatus.RESOLVED


class AlertAction(models.TextChoices):
    TRIGGER = "trigger", "Trigger"
    ACKNOWLEDGE = "acknowledge", "Acknowledge"
    RESOLVE = "resolve", "Resolve"


class Alert(models.Model):
    """One normalized alert event folded into a group."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey(AlertGroup, on_delete=models.CASCADE, related_name="alerts")
    raw_event = models.ForeignKey(RawEvent, on_delete=models.SET_NULL, null=True, related_name="+")
    # The source's identity of this event (Alertmanager: fingerprint|startsAt|status); a repeat
    # of a known event is not stored again. NULL where the source gives no identity.
    event_key = models.CharField(max_length=400, null=True, blank=True)  # noqa: DJ001 (NULL = no identity)
    action = models.CharField(max_length=20, choices=AlertAction.choices)
    summary = models.CharField(max_length=1024)
    labels = models.JSONField(default=dict)
    annotations = models.JSONField(default=dict)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    generator_url = models.CharField(max_length=2048, blank=True)
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "event_key"],
                condition=Q(event_key__isnull=False),
                name="alert_unique_event",
            )
        ]

    def __str__(self) -> str:
        return f"{self.action}: {self.summary}"


class MatchOp(models.TextChoices):
    EQUALS = "equals", "equals"
    NOT_EQUALS = "not_equals", "does not equal"
    REGEX = "regex", "matches regex"
    EXISTS = "exists", "exists"
    NOT_EXISTS = "not_exists", "does not exist"


class RoutingRule(models.Model):
    """Ordered rules: the first enabled rule whose conditions all match decides the route.

    `conditions` is a list of {"field", "op", "value"} where field is `labels.<name>`,
    `annotations.<name>`, or one of summary/source/severity/component/group/class; validated by
    `rules.ConditionSerializer` (regexes compile, ops known).
    """

    integration = models.ForeignKey(
        Integration,
        on_delete=models.CASCADE,
        related_name="rules",
        null=True,
        blank=True,
        help_text="Empty: applies to every integration (after the integration's own rules).",
    )
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=100)
    conditions = models.JSONField(default=list, blank=True)
    service = models.ForeignKey(
        "catalog.Service", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    severity = models.CharField(max_length=2, choices=Severity.choices, blank=True)
    symptom = models.CharField(max_length=40, choices=Symptom.choices, blank=True)
    action = models.CharField(max_length=20, choices=RouteAction.choices, default=RouteAction.AUTO)
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name
