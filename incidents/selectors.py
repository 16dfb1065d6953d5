"""Reads shared by incident pages, the API and the consistency checker."""

from __future__ import annotations

from django.db.models import Count

from ops_portal.timeline import RegisteredTimeline, TimelineProblem
from ops_portal.timeline import timeline_problems as problems_of

from .models import OPEN_STATUSES, Incident, Severity, TimelineEvent


def open_counts_by_severity() -> dict[str, int]:
    rows = dict(
        Incident.objects.filter(status__in=OPEN_STATUSES)
        .values_list("severity")
        .annotate(n=Count("pk"))
        .values_list("severity", "n")
    )
    return {level: rows.get(level, 0) for level in Severity.values}


def timeline_after(incident: Incident, after: int = 0, *, kinds=None, limit: int = 500):
    events = (
        TimelineEvent.objects.filter(incident=incident, seq__gt=after)
        .select_related("author")
        .order_by("seq")
    )
    if kinds:
        events = events.filter(kind__in=kinds)
    return events[:limit]


INCIDENT_TIMELINE = RegisteredTimeline(
    label="incident",
    owner_model=Incident,
    entry_model=TimelineEvent,
    owner_fk="incident",
    ref_column="number",
    ref_prefix="INC-",
)


def timeline_problems() -> list[TimelineProblem]:
    """Gaps, duplicates and counter mismatches of incident timelines."""
    return problems_of(INCIDENT_TIMELINE)
