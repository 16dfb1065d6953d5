"""Public incidents as Statuspage incidents, built from their public updates only.

An incident exists publicly from its first public update (a `public_update` timeline event with
public visibility) and is shown under its public title. Everything else on the incident row or
its timeline — the internal title, impact summary, notes, alerts, probe results, commander,
internal services — stays out: the queries read the public name, severity and number, the
public events' body/time/status/affected components, and the incident's service ids.

Ids: an incident is `INC-<number>`, its ref (the name responders already quote to stakeholders;
it reveals no more than any sequential id would, and needs no extra column); an update is
`INC-<number>-<n>`, its 1-based position among the incident's *public* updates (the timeline
`seq` would count internal events too). Both are stable: the timeline is append-only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db.models import (
    Case,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.fields.json import KT, KeyTransform
from django.db.models.functions import Coalesce, NullIf

from incidents.models import EventKind, Incident, Severity, TimelineEvent
from incidents.services import PUBLIC_UPDATE_STATUSES
from ops_portal.timeline import Visibility

from .components import PublicComponent, PublicComponents, service_component_id
from .maintenance import AffectedComponent, affected_components

# incidents.json holds "the 50 most recent" (Statuspage).
INCIDENTS_LIMIT = 50

RESOLVED = "resolved"

# Statuspage impact from our severity (docs/statuspage.md): P3 is cosmetic, so no impact.
IMPACT_BY_SEVERITY = {
    Severity.P0: "critical",
    Severity.P1: "major",
    Severity.P2: "minor",
    Severity.P3: "none",
}
# What a public update may announce; Statuspage's `postmortem` is never used: postmortems are
# not published on the status page.
INCIDENT_STATUSES = tuple(PUBLIC_UPDATE_STATUSES)
_STATUS_LABELS = {status: status.capitalize() for status in INCIDENT_STATUSES}
_IMPACT_LABELS = {
    "critical": "Critical impact",
    "major": "Major impact",
    "minor": "Minor impact",
    "none": "No service impact",
}


def incident_public_id(number: int) -> str:
    return f"INC-{number}"


@dataclass(frozen=True)
class IncidentUpdate:
    id: str
    status: str  # investigating | identified | monitoring | resolved
    body: str  # Markdown, written for the public
    created_at: datetime
    affected_components: tuple[AffectedComponent, ...] = ()

    @property
    def status_label(self) -> str:
        return _STATUS_LABELS[self.status]


@dataclass(frozen=True)
class PublicIncident:
    number: int  # for the page's URL
    id: str
    name: str
    status: str
    impact: str  # none | minor | major | critical
    created_at: datetime  # the first public update
    updated_at: datetime  # the latest public update
    started_at: datetime
    monitoring_at: datetime | None
    resolved_at: datetime | None
    components: tuple[PublicComponent, ...]
    updates: tuple[IncidentUpdate, ...]  # newest first, as Statuspage lists them

    @property
    def is_resolved(self) -> bool:
        return self.status == RESOLVED

    @property
    def status_label(self) -> str:
        return _STATUS_LABELS[self.status]

    @property
    def impact_label(self) -> str:
        return _IMPACT_LABELS[self.impact]

    @property
    def latest_update(self) -> IncidentUpdate:
        return self.updates[0]


def public_update_events() -> QuerySet[TimelineEvent]:
    """The timeline events the status page may show: public updates, nothing else."""
    return TimelineEvent.objects.filter(kind=EventKind.PUBLIC_UPDATE, visibility=Visibility.PUBLIC)


def public_name_expression(prefix: str = "") -> Coalesce:
    """The public title, or the title where none is set (Incident.display_public_title in SQL,
    so the title is read only where it *is* the public name)."""
    return Coalesce(NullIf(f"{prefix}public_title", Value("")), f"{prefix}title")


def public_incident_rows() -> QuerySet:
    """Incidents with a public update, as rows of allow-listed values (never model instances).

    Each row: id, number, severity, name, first_public_at, public_status (the latest public
    update's). The two correlated subqueries use the (incident, seq) unique index.
    """
    events = public_update_events().filter(incident=OuterRef("pk"))
    return (
        Incident.objects.annotate(
            name=public_name_expression(),
            first_public_at=Subquery(events.order_by("seq").values("created_at")[:1]),
            public_status=Subquery(events.order_by("-seq").values(status=KT("data__status"))[:1]),
        )
        .filter(first_public_at__isnull=False)
        .values("id", "number", "severity", "name", "first_public_at", "public_status")
    )


def _updates(
    incident_ids: list[int], numbers: dict[int, int], components: PublicComponents
) -> dict[int, list[IncidentUpdate]]:
    """Each incident's public updates, oldest first, in one query (body, time, status, affected)."""
    rows = (
        public_update_events()
        .filter(incident_id__in=incident_ids)
        .order_by("incident_id", "seq")
        .values_list(
            "incident_id",
            "body",
            "created_at",
            KT("data__status"),
            KeyTransform("affected_components", "data"),
        )
    )
    updates: dict[int, list[IncidentUpdate]] = defaultdict(list)
    for incident_id, body, created_at, status, affected in rows:
        earlier = updates[incident_id]
        if status not in INCIDENT_STATUSES:
            # public_update_post validates the status; should a row ever lack one, keep the
            # previous update's rather than invent a state.
            status = earlier[-1].status if earlier else INCIDENT_STATUSES[0]
        earlier.append(
            IncidentUpdate(
                id=f"{incident_public_id(numbers[incident_id])}-{len(earlier) + 1}",
                status=status,
                body=body,
                created_at=created_at,
                affected_components=affected_components(affected, components),
            )
        )
    return updates


def _services(incident_ids: list[int]) -> dict[int, list[int]]:
    through = Incident.services.through
    rows = through.objects.filter(incident_id__in=incident_ids).values_list(
        "incident_id", "service_id"
    )
    services: dict[int, list[int]] = defaultdict(list)
    for incident_id, service_id in rows:
        services[incident_id].append(service_id)
    return services


def _entered(updates: list[IncidentUpdate], status: str) -> datetime | None:
    """When the incident last moved into `status` (None if it never was in it)."""
    moment, previous = None, None
    for update in updates:
        if update.status == status and previous != status:
            moment = update.created_at
        previous = update.status
    return moment


def public_incidents(rows: list[dict], components: PublicComponents) -> list[PublicIncident]:
    """The rows of `public_incident_rows()` as public incidents, in two more queries, same order."""
    if not rows:
        return []
    ids = [row["id"] for row in rows]
    updates = _updates(ids, {row["id"]: row["number"] for row in rows}, components)
    services = _services(ids)
    result = []
    for row in rows:
        history = updates.get(row["id"])
        if not history:  # the last public update cannot vanish (append-only), but be exact
            continue
        first, latest = history[0], history[-1]
        # Internal services drop out here: only public components are in `by_id`.
        affected = [components.by_id.get(service_component_id(pk)) for pk in services[row["id"]]]
        public = sorted(
            (c for c in affected if c is not None), key=lambda c: (c.name.lower(), c.id)
        )
        result.append(
            PublicIncident(
                number=row["number"],
                id=incident_public_id(row["number"]),
                name=row["name"],
                status=latest.status,
                impact=IMPACT_BY_SEVERITY[row["severity"]],
                created_at=first.created_at,
                updated_at=latest.created_at,
                started_at=first.created_at,
                monitoring_at=_entered(history, "monitoring"),
                resolved_at=latest.created_at if latest.status == RESOLVED else None,
                components=tuple(public),
                updates=tuple(reversed(history)),
            )
        )
    return result


def recent_incident_rows(limit: int = INCIDENTS_LIMIT) -> list[dict]:
    """The `limit` most recent public incidents, unresolved first (one query)."""
    resolved_last = Case(
        When(public_status=RESOLVED, then=Value(1)), default=Value(0), output_field=IntegerField()
    )
    return list(
        public_incident_rows().order_by(resolved_last, F("first_public_at").desc(), "-id")[:limit]
    )


def public_incident(number: int, components: PublicComponents) -> PublicIncident | None:
    """One public incident for its own page (any age); None if it never had a public update."""
    rows = list(public_incident_rows().filter(number=number))
    found = public_incidents(rows, components)
    return found[0] if found else None


def incidents_between(
    start: datetime, end: datetime, components: PublicComponents, *, limit: int
) -> list[PublicIncident]:
    """Public incidents that became public in [start, end), newest first (history pages)."""
    rows = list(
        public_incident_rows()
        .filter(first_public_at__gte=start, first_public_at__lt=end)
        .order_by(F("first_public_at").desc(), "-id")[:limit]
    )
    return public_incidents(rows, components)
