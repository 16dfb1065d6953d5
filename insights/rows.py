"""The few queries behind the dashboard: plain rows out of the database, no figures yet.

The number of queries is fixed (five) whatever the number of incidents: each one fetches
`values_list` rows for every incident at once, and insights/figures.py does the arithmetic in
Python. That keeps percentiles exact (PostgreSQL's percentile functions interpolate, and SQLite
has none) and the week buckets in the business time zone, DST included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Count, Q, QuerySet

from incidents.models import EventKind, Incident, TimelineEvent
from postmortems.models import OPEN_ACTION_STATUSES, ActionItem, ActionStatus, Postmortem

from .period import Filters, Period


@dataclass(frozen=True)
class IncidentRow:
    id: int
    severity: str
    customer_facing: bool
    detected_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True)
class ServiceRef:
    id: int
    slug: str
    name: str


@dataclass(frozen=True)
class StatusMove:
    """One status change from the incident's timeline."""

    at: datetime
    from_status: str
    to_status: str


@dataclass(frozen=True)
class ActionItemCounts:
    total: int
    open: int
    overdue: int
    done: int
    wont_do: int


@dataclass(frozen=True)
class Rows:
    # Incidents detected in the period or the previous one, plus older ones whose downtime
    # reaches into the period.
    incidents: list[IncidentRow]
    services_of: dict[int, list[ServiceRef]]
    # Status moves of the incidents detected in the period, in timeline order.
    moves: dict[int, list[StatusMove]]
    # (due_at, first_published_at) of the required postmortems due in the period.
    postmortems: list[tuple[datetime, datetime | None]]
    action_items: ActionItemCounts


def _filtered(queryset: QuerySet, filters: Filters, prefix: str = "") -> QuerySet:
    """Apply the severity and service filters to incidents, or to rows reaching them via
    `prefix` (e.g. "incident__")."""
    if filters.severities:
        queryset = queryset.filter(**{f"{prefix}severity__in": filters.severities})
    if filters.service is not None:
        queryset = queryset.filter(**{f"{prefix}services": filters.service})
    return queryset


def load(period: Period, filters: Filters, *, today: date) -> Rows:
    start, end = period.bounds()
    previous_start, _ = period.previous().bounds()
    detected = Q(detected_at__gte=previous_start, detected_at__lt=end)
    # Downtime is clipped to the period, so an incident detected earlier still counts for the
    # part of it that falls inside (open ones included).
    overlapping = Q(detected_at__lt=end) & (
        Q(resolved_at__gt=start)
        | Q(resolved_at__isnull=True, closed_at__isnull=True)
        | Q(resolved_at__isnull=True, closed_at__gt=start)
    )
    incidents = _filtered(Incident.objects.all(), filters).filter(detected | overlapping)
    in_period = _filtered(Incident.objects.all(), filters).filter(
        detected_at__gte=start, detected_at__lt=end
    )
    return Rows(
        incidents=[
            IncidentRow(*row)
            for row in incidents.order_by("detected_at", "pk").values_list(
                "pk",
                "severity",
                "customer_facing",
                "detected_at",
                "acknowledged_at",
                "resolved_at",
                "closed_at",
            )
        ],
        services_of=_services_of(incidents),
        moves=_moves(in_period),
        postmortems=list(
            _filtered(Postmortem.objects.all(), filters, "incident__")
            .filter(required=True, due_at__gte=start, due_at__lt=end)
            .values_list("due_at", "first_published_at")
        ),
        action_items=_action_items(in_period, today),
    )


def _services_of(incidents: QuerySet) -> dict[int, list[ServiceRef]]:
    through = Incident.services.through
    pairs = (
        through.objects.filter(incident_id__in=incidents.values("pk"))
        .order_by("service__name")
        .values_list("incident_id", "service_id", "service__slug", "service__name")
    )
    services_of: dict[int, list[ServiceRef]] = {}
    for incident_id, *service in pairs:
        services_of.setdefault(incident_id, []).append(ServiceRef(*service))
    return services_of


def _moves(in_period: QuerySet) -> dict[int, list[StatusMove]]:
    # A reopening is a status change too (resolved → investigating), recorded under its own kind.
    events = (
        TimelineEvent.objects.filter(
            incident_id__in=in_period.values("pk"),
            kind__in=(EventKind.STATUS_CHANGE, EventKind.REOPENED),
        )
        .order_by("incident_id", "seq")
        .values_list("incident_id", "created_at", "data__from", "data__to")
    )
    moves: dict[int, list[StatusMove]] = {}
    for incident_id, at, from_status, to_status in events:
        if isinstance(from_status, str) and isinstance(to_status, str):
            moves.setdefault(incident_id, []).append(StatusMove(at, from_status, to_status))
    return moves


def _action_items(in_period: QuerySet, today: date) -> ActionItemCounts:
    unfinished = Q(status__in=OPEN_ACTION_STATUSES)
    counts = ActionItem.objects.filter(postmortem__incident__in=in_period.values("pk")).aggregate(
        total=Count("pk"),
        open=Count("pk", filter=unfinished),
        overdue=Count("pk", filter=unfinished & Q(due_date__lt=today)),
        done=Count("pk", filter=Q(status=ActionStatus.DONE)),
        wont_do=Count("pk", filter=Q(status=ActionStatus.WONT_DO)),
    )
    return ActionItemCounts(**counts)
