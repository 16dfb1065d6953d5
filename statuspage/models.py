"""Status page rows: page configuration, daily uptime rollups, subscribers and their deliveries.

Component statuses and their history live in the catalog (ServiceStatusChange); incidents and
maintenance in their apps. Everything here is public-facing configuration or derived data.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from catalog.models import ComponentStatus, Service


class PageConfig(models.Model):
    """The one configuration row of the public page (admins edit it)."""

    name = models.CharField(max_length=100, default="Ops Portal")
    logo_url = models.URLField(max_length=500, blank=True)
    brand_color = models.CharField(
        max_length=7, default="#1d4ed8", help_text="Accent colour, #rrggbb."
    )
    home_for_anonymous = models.BooleanField(
        default=False, help_text="Send anonymous visitors of / to the status page."
    )
    stale_after_minutes = models.PositiveIntegerField(
        default=120,
        help_text="Flag a component left non-operational this long without a public update.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name

    @classmethod
    def current(cls) -> PageConfig:
        """The configuration row, or the defaults (STATUSPAGE_NAME) until an admin saves one:
        one read, never a write on a public GET."""
        return cls.objects.filter(pk=1).first() or cls(pk=1, name=settings.STATUSPAGE_NAME)


class UptimeDay(models.Model):
    """One component's day (in the page's time zone): the worst status and minutes per status.

    Maintained incrementally from catalog.ServiceStatusChange by a beat task and on change;
    keyed by the service row, so a renamed component keeps its history.
    """

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="uptime_days")
    day = models.DateField()
    worst_status = models.CharField(
        max_length=32, choices=ComponentStatus.choices, default=ComponentStatus.OPERATIONAL
    )
    # {"major_outage": 12.5, "partial_outage": 0, ...}: minutes spent in each non-operational
    # status that day.
    minutes = models.JSONField(default=dict, blank=True)
    downtime_minutes = models.FloatField(default=0)
    # Public incidents touching the component that day: [{"id": "...", "name": "..."}].
    incidents = models.JSONField(default=list, blank=True)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["service", "day"]
        constraints = [models.UniqueConstraint(fields=["service", "day"], name="uptime_day_once")]

    def __str__(self) -> str:
        return f"{self.service_id} {self.day}: {self.worst_status}"


class SubscriberKind(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"


class Subscriber(models.Model):
    """A visitor who asked to hear about incidents and maintenance, by email or webhook.

    Email subscribers confirm by a signed link (double opt-in) before anything is sent; every
    message carries a signed unsubscribe link. No components = all components.
    """

    kind = models.CharField(max_length=10, choices=SubscriberKind.choices)
    email = models.EmailField(max_length=254, blank=True)
    url = models.URLField(max_length=500, blank=True)
    # Signs our webhook deliveries (HMAC-SHA256 over timestamp and body); shown once.
    secret = models.CharField(max_length=64, blank=True)
    components = models.ManyToManyField(Service, blank=True, related_name="subscribers")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["email"],
                condition=Q(kind=SubscriberKind.EMAIL, unsubscribed_at__isnull=True),
                name="one_active_subscription_per_email",
            ),
            models.UniqueConstraint(
                fields=["url"],
                condition=Q(kind=SubscriberKind.WEBHOOK, unsubscribed_at__isnull=True),
                name="one_active_subscription_per_url",
            ),
        ]

    def __str__(self) -> str:
        return self.email or self.url

    @property
    def active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed (will retry)"
    DEAD = "dead", "Gave up"


class SubscriberDelivery(models.Model):
    """One message to one subscriber about one public event: unique, so it is sent once."""

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="deliveries")
    # What it is about, e.g. "incident-update:<timeline event id>" or "maintenance:<notice id>".
    event_key = models.CharField(max_length=120)
    subject = models.CharField(max_length=300)
    payload = models.JSONField(default=dict)
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber", "event_key"], name="delivery_once_per_event"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_key} → {self.subscriber_id}: {self.state}"


class StaleComponentFlag(models.Model):
    """A component left non-operational without a public update for too long, flagged to admins
    once per episode (`since` = when it became non-operational)."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="stale_flags")
    status = models.CharField(max_length=32, choices=ComponentStatus.choices)
    since = models.DateTimeField()
    flagged_at = models.DateTimeField(default=timezone.now)
    outbox_event_id = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-flagged_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["service", "since"], name="stale_flag_once")]

    def __str__(self) -> str:
        return f"{self.service_id} {self.status} since {self.since:%Y-%m-%d %H:%M}"
