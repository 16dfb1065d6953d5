"""Reads shared by incident pages, the API and the consistency checker."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import Count

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


@dataclass(frozen=True)
class TimelineProblem:
    incident_id: int
    ref: str
    missing: list[int]
    duplicates: list[int]
    counter: int
    highest: int


def timeline_problems() -> list[TimelineProblem]:
    """Gaps, duplicates and counter mismatches, in one pass per incident (aggregate SQL)."""
    problems = []
    incident_table = Incident._meta.db_table
    event_table = TimelineEvent._meta.db_table
    # Incidents whose events are not exactly 1..n, or whose counter disagrees with n.
    sql = (
        f"SELECT i.id, i.number, i.last_seq, COUNT(e.id), COUNT(DISTINCT e.seq), "  # noqa: S608 (model table names)
        f"COALESCE(MAX(e.seq), 0), COALESCE(MIN(e.seq), 1) "
        f"FROM {incident_table} i LEFT JOIN {event_table} e ON e.incident_id = i.id "
        f"GROUP BY i.id, i.number, i.last_seq"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()
    for incident_id, number, counter, total, distinct, highest, lowest in rows:
        contiguous = total == distinct == highest == counter and lowest == 1
        if contiguous or (total == 0 and counter == 0):
            continue
        seqs = list(
            TimelineEvent.objects.filter(incident_id=incident_id)
            .order_by("seq")
            .values_list("seq", flat=True)
        )
        present = set(seqs)
        missing = [n for n in range(1, max(highest, counter) + 1) if n not in present]
        duplicates = sorted({n for n in seqs if seqs.count(n) > 1})
        problems.append(
            TimelineProblem(incident_id, f"INC-{number}", missing, duplicates, counter, highest)
        )
    return problems
