"""Services (the status page's components) and the diagnostic targets attached to them."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count


class ComponentStatus(models.TextChoices):
    """Atlassian Statuspage's five component statuses; the values are an outside contract."""

    OPERATIONAL = "operational", "Operational"
    DEGRADED_PERFORMANCE = "degraded_performance", "Degraded performance"
    PARTIAL_OUTAGE = "partial_outage", "Partial outage"
    MAJOR_OUTAGE = "major_outage", "Major outage"
    UNDER_MAINTENANCE = "under_maintenance", "Under maintenance"


# Worst first: used to order services and to compute a group's worst status.
STATUS_SEVERITY = {
    ComponentStatus.MAJOR_OUTAGE: 4,
    ComponentStatus.PARTIAL_OUTAGE: 3,
    ComponentStatus.DEGRADED_PERFORMANCE: 2,
    ComponentStatus.UNDER_MAINTENANCE: 1,
    ComponentStatus.OPERATIONAL: 0,
}


class TargetKind(models.TextChoices):
    """Kinds of diagnostic target. Stored slugs never change (ARCHITECTURE.md plug-in rule)."""

    KUBERNETES = "kubernetes", "Kubernetes"
    POSTGRES = "postgres", "PostgreSQL"
    REDIS = "redis", "Redis"
    KAFKA = "kafka", "Kafka"
    HTTP = "http", "HTTP"


class ServiceGroup(models.Model):
    """A group of components on the status page (Statuspage's component group)."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class ServiceQuerySet(models.QuerySet):
    def for_listing(self):
        """Everything a list page or endpoint shows, in a fixed number of queries."""
        # Explicit order: an aggregate query drops Meta.ordering.
        return (
            self.select_related("group", "owner_team")
            .annotate(target_count=Count("targets", distinct=True))
            .order_by("position", "name")
        )

    def public(self):
        return self.filter(show_on_status_page=True)


class Service(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    owner_team = models.ForeignKey(
        "accounts.Team",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="services",
    )
    group = models.ForeignKey(
        ServiceGroup,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="services",
    )
    component_name = models.CharField(
        max_length=100,
        blank=True,
        help_text="Name on the public status page; the service name when empty.",
    )
    status = models.CharField(
        max_length=32, choices=ComponentStatus.choices, default=ComponentStatus.OPERATIONAL
    )
    show_on_status_page = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ServiceQuerySet.as_manager()

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def public_name(self) -> str:
        return self.component_name or self.name

    @property
    def status_severity(self) -> int:
        return STATUS_SEVERITY[ComponentStatus(self.status)]


class Target(models.Model):
    """Something a diagnostic probe can look at: a deployment, a database, a topic, a URL.

    `config` holds the kind's validated settings (see catalog.target_configs). Secrets never go
    in here: a DSN or Redis URL is given as the name of an environment variable holding it.
    """

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="targets")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=32, choices=TargetKind.choices)
    config = models.JSONField(default=dict)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["service__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "name"], name="target_unique_name_per_service"
            )
        ]

    def __str__(self) -> str:
        return f"{self.service.name} / {self.name}"

    def clean(self):
        from .target_configs import TargetConfigError, validate_target_config

        if self.kind not in TargetKind.values:
            raise ValidationError({"kind": f"Unknown kind {self.kind!r}."})
        try:
            self.config = validate_target_config(self.kind, self.config)
        except TargetConfigError as exc:
            raise ValidationError({"config": exc.as_messages()}) from exc


class ServiceStatusChange(models.Model):
    """One change of a component status, with when: the history uptime is computed from.

    Keyed by the service row (not its name), so renaming a component keeps its history.
    """

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="status_changes")
    status = models.CharField(max_length=32, choices=ComponentStatus.choices)
    previous = models.CharField(max_length=32, choices=ComponentStatus.choices)
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["service", "changed_at", "id"]
        indexes = [models.Index(fields=["service", "changed_at"])]

    def __str__(self) -> str:
        return (
            f"{self.service_id}: {self.previous} → {self.status} @ {self.changed_at:%Y-%m-%d %H:%M}"
        )
