"""Public incidents as time spans over components, read from public updates only.

An incident touches a component from its first public update to its resolving one (or until
now while its latest public update is not `resolved`), if any of its public updates lists the
component in `affected_components`. Only the public name (the public title, or the title where
none is set: the same rule as the incident pages) and the public id `INC-<number>` are read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.fields.json import KT, KeyTransform

from incidents.models import Incident

from ..selectors.incidents import (
    RESOLVED,
    incident_public_id,
    public_name_expression,
    public_update_events,
)


@dataclass(frozen=True)
class IncidentSpan:
    id: str  # INC-<number>
    name: str
    start: datetime  # the first public update
    end: datetime | None  # the resolving public update; None while unresolved
    updated_at: datetime  # the incident row's: a corrected public title bumps it
    component_ids: frozenset[str]

    def touches(self, lo: datetime, hi: datetime, *, now: datetime) -> bool:
        """Does the span meet [lo, hi)? An incident resolved in its first update still counts
        on its day."""
        end = self.end or now
        return self.start < hi and (end > lo or self.start >= lo)


def spans_for_refresh(*, since: datetime, changed_since: datetime | None) -> list[IncidentSpan]:
    """Spans that can touch days from `since` on, or whose incident row changed after
    `changed_since` (one query): a public update since then, not publicly resolved, or edited."""
    events = public_update_events().filter(incident=OuterRef("pk"))
    latest_status = Subquery(events.order_by("-seq").values(status=KT("data__status"))[:1])
    wanted = Q(recent=True) | Q(latest_status__isnull=True) | ~Q(latest_status=RESOLVED)
    if changed_since is not None:
        wanted |= Q(updated_at__gt=changed_since)
    incidents = (
        Incident.objects.annotate(
            recent=Exists(events.filter(created_at__gte=since)), latest_status=latest_status
        )
        .filter(Exists(events))
        .filter(wanted)
    )
    return _spans(public_update_events().filter(incident__in=incidents.values("pk")))


def spans_of(incident_ids: Iterable[int]) -> list[IncidentSpan]:
    return _spans(public_update_events().filter(incident_id__in=list(incident_ids)))


def _spans(events: QuerySet) -> list[IncidentSpan]:
    rows = events.order_by("incident_id", "seq").values(
        "incident_id",
        "created_at",
        number=F("incident__number"),
        name=public_name_expression("incident__"),
        incident_updated_at=F("incident__updated_at"),
        status=KT("data__status"),
        affected=KeyTransform("affected_components", "data"),
    )
    by_incident: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        by_incident[row["incident_id"]].append(row)
    spans = []
    for updates in by_incident.values():
        first, last = updates[0], updates[-1]
        codes = frozenset(
            str(item["code"])
            for update in updates
            if isinstance(update["affected"], list)
            for item in update["affected"]
            if isinstance(item, dict) and "code" in item
        )
        spans.append(
            IncidentSpan(
                id=incident_public_id(first["number"]),
                name=first["name"],
                start=first["created_at"],
                end=last["created_at"] if last["status"] == RESOLVED else None,
                updated_at=first["incident_updated_at"],
                component_ids=codes,
            )
        )
    return sorted(spans, key=lambda span: (span.start, span.id))
