"""Keep UptimeDay rows up to date, recomputing only the days that can have changed.

A day's row depends on the component's status changes and on the public incidents touching it.
It can change while the day is still running, when a change is recorded for it (recorded late
or with a past `now`), or when an incident touching it is edited (a corrected public title).

- `uptime_refresh(now=)` (beat, every few minutes): per public component, from the last day
  whose row was computed before that day ended to today (the whole window if days are missing),
  plus the days of incidents edited since the last run. In steady state: today, and yesterday
  once.
- `uptime_refresh_service(service, since)`: after a status change commits, that component's
  days from the change's day on.
- `uptime_refresh_incident(incident_id)`: after a public update commits, the days of that
  incident on the components its public updates list.

Each runs a fixed number of queries whatever the number of components or the history size: the
components, their last rows, the incident spans (twice when an edited incident reaches back), the
status changes, the existing rows and one upsert (batched only on a first fill of many rows).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta, tzinfo

from django.db.models import Count, Max, Q
from django.utils import timezone

from catalog.models import Service, ServiceStatusChange

from ..cache import invalidate_now_and_on_commit
from ..models import UptimeDay
from ..selectors.components import service_component_id
from .rollup import (
    day_end,
    day_rollups,
    day_start,
    days_between,
    local_day,
    page_zone,
    window_first_day,
)
from .spans import IncidentSpan, spans_for_refresh, spans_of

# Rows per INSERT on a first fill: 7 parameters a row stays far below PostgreSQL's 65,535.
UPSERT_BATCH = 2000
_FIELDS = ("worst_status", "minutes", "downtime_minutes", "incidents")


def _public_services(ids: Iterable[int] | None = None) -> list[Service]:
    services = Service.objects.public().only("id", "status", "created_at").order_by("pk")
    return list(services if ids is None else services.filter(pk__in=list(ids)))


def uptime_refresh(*, now: datetime | None = None) -> int:
    """Recompute what can have changed for every public component; return the rows written."""
    now = now or timezone.now()
    zone = page_zone()
    today = local_day(now, zone)
    services = _public_services()
    if not services:
        return 0
    window_first = window_first_day(today)
    last = {
        row["service"]: row
        for row in UptimeDay.objects.filter(service__in=[s.pk for s in services])
        .order_by()
        .values("service")
        .annotate(
            last_day=Max("day"),
            computed_at=Max("computed_at"),
            in_window=Count("pk", filter=Q(day__gte=window_first)),
        )
    }
    first_days = {}
    for service in services:
        first = max(window_first, local_day(service.created_at, zone))
        row = last.get(service.pk)
        # An on-change refresh writes from the change's day only, so rows can miss days before
        # it (a new component, a beat that did not run): any gap means the whole window.
        gapless = row is not None and row["in_window"] >= (row["last_day"] - first).days + 1
        if gapless:
            # Rows are written together with one computed_at, so the newest computed_at is the
            # last day's: was that day over when it was computed?
            done = row["computed_at"] >= day_end(row["last_day"], zone)
            first = max(first, row["last_day"] + timedelta(days=1 if done else 0))
        first_days[service.pk] = min(first, today)
    since = day_start(min(first_days.values()), zone)
    # Incidents edited since the oldest run: their days are recomputed where already written.
    changed_since = min((row["computed_at"] for row in last.values()), default=None)
    spans = spans_for_refresh(since=since, changed_since=changed_since)
    for span in spans:
        for service in services:
            row = last.get(service.pk)
            edited = row is not None and span.updated_at > row["computed_at"]
            if edited and service_component_id(service.pk) in span.component_ids:
                start = max(local_day(span.start, zone), window_first)
                first_days[service.pk] = min(first_days[service.pk], start)
    reach = day_start(min(first_days.values()), zone)
    if reach < since:
        # The recomputed days now reach back to an edited incident's: every other incident
        # touching them must be read too (one more query, only then).
        spans = spans_for_refresh(since=reach, changed_since=None)
    return _recompute(services, first_days, spans, now=now, zone=zone)


def uptime_refresh_service(
    service: Service, since: datetime, *, now: datetime | None = None
) -> int:
    """Recompute one component's days from `since` (a status change's time) to today."""
    now = now or timezone.now()
    zone = page_zone()
    today = local_day(now, zone)
    services = _public_services([service.pk])
    if not services:
        return 0  # internal components have no bars
    fresh = services[0]
    first = max(window_first_day(today), local_day(fresh.created_at, zone), local_day(since, zone))
    first = min(first, today)
    spans = spans_for_refresh(since=day_start(first, zone), changed_since=None)
    return _recompute(services, {fresh.pk: first}, spans, now=now, zone=zone)


def uptime_refresh_incident(incident_id: int, *, now: datetime | None = None) -> int:
    """Recompute the days of one incident on the public components its public updates list."""
    now = now or timezone.now()
    zone = page_zone()
    today = local_day(now, zone)
    spans = spans_of([incident_id])
    if not spans:
        return 0
    span = spans[0]
    services = _public_services(int(code) for code in span.component_ids if code.isdigit())
    if not services:
        return 0
    first_days = {
        s.pk: min(
            today,
            max(
                window_first_day(today), local_day(s.created_at, zone), local_day(span.start, zone)
            ),
        )
        for s in services
    }
    # Other incidents on the same days matter too: read every span that can touch them.
    spans = spans_for_refresh(since=day_start(min(first_days.values()), zone), changed_since=None)
    return _recompute(services, first_days, spans, now=now, zone=zone)


def _changes(services: list[Service], since: datetime) -> dict[int, list[tuple]]:
    rows = (
        ServiceStatusChange.objects.filter(
            service__in=[s.pk for s in services], changed_at__gte=since
        )
        .order_by("service_id", "changed_at", "id")
        .values_list("service_id", "changed_at", "status", "previous")
    )
    changes: dict[int, list[tuple]] = defaultdict(list)
    for service_id, changed_at, status, previous in rows:
        changes[service_id].append((changed_at, status, previous))
    return changes


def _incidents_on(
    spans: list[IncidentSpan], component_id: str, day: date, *, zone: tzinfo, now: datetime
) -> list[dict]:
    lo, hi = day_start(day, zone), day_end(day, zone)
    return [
        {"id": span.id, "name": span.name}
        for span in spans
        if component_id in span.component_ids and span.touches(lo, hi, now=now)
    ]


def _recompute(
    services: list[Service],
    first_days: dict[int, date],
    spans: list[IncidentSpan],
    *,
    now: datetime,
    zone: tzinfo,
) -> int:
    today = local_day(now, zone)
    starts = {pk: day_start(day, zone) for pk, day in first_days.items()}
    changes = _changes(services, min(starts.values()))
    rows = []
    for service in services:
        mine = [c for c in changes.get(service.pk, ()) if c[0] >= starts[service.pk]]
        # The status when the range starts: what the first later change says it replaced, or
        # the current status when nothing changed since (history that began before the range).
        initial = mine[0][2] if mine else service.status
        component_id = service_component_id(service.pk)
        for rollup in day_rollups(
            initial=initial,
            changes=[(at, status) for at, status, _previous in mine],
            days=days_between(first_days[service.pk], today),
            created_at=service.created_at,
            now=now,
            zone=zone,
        ):
            rows.append(
                UptimeDay(
                    service_id=service.pk,
                    day=rollup.day,
                    worst_status=rollup.worst_status,
                    minutes=rollup.minutes,
                    downtime_minutes=rollup.downtime_minutes,
                    incidents=_incidents_on(spans, component_id, rollup.day, zone=zone, now=now),
                    computed_at=now,
                )
            )
    if not rows:
        return 0
    before = {
        (row[0], row[1]): row[2:]
        for row in UptimeDay.objects.filter(
            service__in=list(first_days), day__gte=min(first_days.values())
        ).values_list("service_id", "day", *_FIELDS)
    }
    visible_change = any(
        before.get((row.service_id, row.day)) != tuple(getattr(row, f) for f in _FIELDS)
        for row in rows
    )
    UptimeDay.objects.bulk_create(
        rows,
        batch_size=UPSERT_BATCH,
        update_conflicts=True,
        unique_fields=["service", "day"],
        update_fields=[*_FIELDS, "computed_at"],
    )
    if visible_change:
        # bulk_create sends no signal; today's row of a component in trouble changes every run,
        # an all-green day's does not, so a quiet page keeps its cached body and ETag.
        invalidate_now_and_on_commit()
    return len(rows)
