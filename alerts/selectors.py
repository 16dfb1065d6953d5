"""Reads for the alert pages and the incident page's alert panel.

Each function costs a fixed number of queries, whatever the number of groups or alerts: the
pages' query-count tests hold them to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Max, Q, QuerySet

from catalog.models import Service
from incidents.models import Incident

from .display import pretty_body, pretty_json
from .models import Alert, AlertGroup, GroupStatus, Integration, RawEvent, RoutingRule

STATUS_FILTERS = {
    "open": "Open",
    "firing": "Firing",
    "acknowledged": "Acknowledged",
    "resolved": "Resolved",
    "all": "All",
}


def alert_groups(
    *,
    status: str = "open",
    integration_id: int | None = None,
    service: str = "",
    severity: str = "",
    q: str = "",
    incident_number: int | None = None,
) -> QuerySet[AlertGroup]:
    """Alert groups for the list page, newest activity first."""
    groups = AlertGroup.objects.for_listing()
    if status == "open":
        groups = groups.open()
    elif status in GroupStatus.values:
        groups = groups.filter(status=status)
    if integration_id:
        groups = groups.filter(integration_id=integration_id)
    if service:
        groups = groups.filter(service__slug=service)
    if severity:
        groups = groups.filter(severity=severity)
    if q:
        groups = groups.filter(Q(title__icontains=q) | Q(dedup_key__icontains=q))
    if incident_number:
        groups = groups.filter(incident__number=incident_number)
    return groups.order_by("-last_seen", "-pk")


def alert_group_for_page(group_id: int) -> AlertGroup | None:
    return (
        AlertGroup.objects.select_related(
            "integration", "service", "incident", "rule", "acknowledged_by", "resolved_by"
        )
        .filter(pk=group_id)
        .first()
    )


@dataclass(frozen=True)
class Delivery:
    """A raw delivery as the group page shows it (once, at the newest alert it carried)."""

    id: int
    received_at: object
    body: str
    truncated: bool


@dataclass(frozen=True)
class AlertRow:
    alert: Alert
    payload: str
    payload_truncated: bool
    delivery: Delivery | None
    # The delivery's body is shown with an earlier (newer) row: this row links there instead.
    delivery_shown_above: bool


def group_alerts(group: AlertGroup, *, limit: int = 100) -> list[AlertRow]:
    """The group's newest alerts with their payloads and raw deliveries: three queries.

    One delivery often carries many alerts (Alertmanager batches them), so each body is loaded
    and shown once rather than once per alert.
    """
    alerts = list(Alert.objects.filter(group=group).order_by("-pk")[:limit])
    raw_ids = {alert.raw_event_id for alert in alerts if alert.raw_event_id}
    raws = {
        raw.pk: raw
        for raw in RawEvent.objects.filter(pk__in=raw_ids).only("id", "received_at", "body")
    }
    rows, shown = [], set()
    for alert in alerts:
        raw = raws.get(alert.raw_event_id)
        delivery = None
        if raw is not None and raw.pk not in shown:
            body, truncated = pretty_body(raw.body)
            delivery = Delivery(raw.pk, raw.received_at, body, truncated)
        payload, payload_truncated = pretty_json(alert.payload)
        rows.append(
            AlertRow(
                alert=alert,
                payload=payload,
                payload_truncated=payload_truncated,
                delivery=delivery,
                delivery_shown_above=raw is not None and raw.pk in shown,
            )
        )
        if raw is not None:
            shown.add(raw.pk)
    return rows


def group_alert_total(group: AlertGroup) -> int:
    return Alert.objects.filter(group=group).count()


def linkable_incidents(*, limit: int = 200) -> QuerySet[Incident]:
    """Open incidents a commander may link a group to, newest first."""
    return (
        Incident.objects.open()
        .only("id", "number", "title", "severity")
        .order_by("-number")[:limit]
    )


def integration_choices() -> list[tuple[int, str]]:
    return list(Integration.objects.order_by("name").values_list("pk", "name"))


def service_choices() -> list[tuple[str, str]]:
    return list(Service.objects.order_by("name").values_list("slug", "name"))


@dataclass(frozen=True)
class IncidentAlerts:
    counts: dict[str, int]
    total: int
    groups: list[AlertGroup]


def incident_alerts(incident_id: int, *, limit: int = 5) -> IncidentAlerts | None:
    """The alert groups linked to an incident (newest activity first), or None without any.

    Two queries: counts by status, then the first rows.
    """
    counts = dict(
        AlertGroup.objects.filter(incident_id=incident_id)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    if not counts:
        return None
    groups = list(
        AlertGroup.objects.filter(incident_id=incident_id)
        .select_related("integration")
        .order_by("-last_seen", "-pk")[:limit]
    )
    ordered = {status: counts.get(status, 0) for status in GroupStatus.values}
    return IncidentAlerts(counts=ordered, total=sum(ordered.values()), groups=groups)


def integrations_for_admin() -> list[Integration]:
    """Every integration with its open-group count and last alert: two queries."""
    integrations = list(Integration.objects.select_related("default_service").order_by("name"))
    stats = {
        row["integration_id"]: row
        for row in AlertGroup.objects.order_by()
        .values("integration_id")
        .annotate(
            open_groups=Count("pk", filter=~Q(status=GroupStatus.RESOLVED)),
            last_seen=Max("last_seen"),
        )
    }
    for integration in integrations:
        row = stats.get(integration.pk, {})
        integration.open_groups = row.get("open_groups", 0)
        integration.last_alert_at = row.get("last_seen")
    return integrations


def integration_rules(integration: Integration) -> list[RoutingRule]:
    return list(
        RoutingRule.objects.filter(integration=integration)
        .select_related("service")
        .order_by("position", "pk")
    )


def global_rules() -> list[RoutingRule]:
    """Rules for every integration (managed through the API); they apply after an
    integration's own rules."""
    return list(
        RoutingRule.objects.filter(integration__isnull=True)
        .select_related("service")
        .order_by("position", "pk")
    )
