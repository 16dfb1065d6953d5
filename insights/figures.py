"""The dashboard's figures for one period and filters, computed in Python from insights/rows.py.

Definitions (docs/postmortems.md, "Insights", says the same for readers):

* **Incidents** of a period are those *detected* in it (local days of BUSINESS_TIME_ZONE).
* **Weeks** start on Monday 00:00 local time; an incident falls in the week of the local date
  of its `detected_at`, so a DST change never moves it to a neighbouring week.
* **MTTA** = detected → acknowledged, **MTTR** = detected → resolved, in minutes, over the
  incidents that have been acknowledged / resolved. Median and p90 by the nearest-rank rule
  (insights/stats.py). The trend compares with the previous period of equal length.
* **Time in each playbook step**, from the status changes on the timeline: acknowledge =
  time in `triggered` (from detection), assess = `acknowledged` + `investigating`, mitigate =
  `mitigating`, resolve = `resolved` until closed or reopened (the playbook's resolve step: root
  cause, fix, verify). Each incident's time in a step is summed over every visit (reopenings
  add up); a visit still going on has no duration yet and is left out. Median per step over the
  incidents that finished at least one visit of it.
* **Downtime** of an incident that is customer-facing or P0/P1: detected → resolved (or closed),
  or → now while open, clipped to the period. A service's downtime is the union of its
  incidents' downtime (two overlapping incidents count once).
* **Postmortems on time**: required postmortems *due* in the period; on time = first published
  by `due_at`. The percentage is over those already decided (published, or past due);
  postmortems not yet due are counted as pending.
* **Action items** of the postmortems of the period's incidents: open (open or in progress)
  and overdue (still open after their due date) as of today.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.utils import timezone

from incidents import playbook
from incidents.models import Severity, Step

from .period import Filters, Period, local_date, week_start
from .rows import ActionItemCounts, IncidentRow, Rows, ServiceRef, StatusMove, load
from .stats import Spread

TOP_SERVICES = 10
ALL = "all"  # the response-times row over every shown severity
MINUTE = timedelta(minutes=1)

MEASURED_STEPS = (Step.ACKNOWLEDGE, Step.ASSESS, Step.MITIGATE, Step.RESOLVE)
# Where each status's time goes, as the playbook maps them; `closed` (communicate) is left out
# because nothing ends it.
STEP_OF_STATUS: dict[str, str] = {
    status: step for status, step in playbook.STEP_OF_STATUS.items() if step in MEASURED_STEPS
}
DOWNTIME_SEVERITIES = (Severity.P0, Severity.P1)


@dataclass(frozen=True)
class WeekCount:
    week_start: date
    by_severity: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_severity.values())


def _change(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else round(now - before, 1)


@dataclass(frozen=True)
class ResponseTimes:
    severity: str  # a level, or ALL
    mtta: Spread
    mttr: Spread
    previous_mtta: Spread
    previous_mttr: Spread

    @property
    def mtta_median_change(self) -> float | None:
        return _change(self.mtta.median, self.previous_mtta.median)

    @property
    def mttr_median_change(self) -> float | None:
        return _change(self.mttr.median, self.previous_mttr.median)


@dataclass(frozen=True)
class StepTime:
    step: str
    label: str
    minutes: Spread


@dataclass(frozen=True)
class ServiceFigure:
    slug: str
    name: str
    incidents: int
    downtime_minutes: float


@dataclass(frozen=True)
class PostmortemFigures:
    due: int
    on_time: int
    late: int
    overdue: int  # past due, never published
    pending: int  # not due yet, not published

    @property
    def on_time_percent(self) -> float | None:
        decided = self.on_time + self.late + self.overdue
        return round(100 * self.on_time / decided, 1) if decided else None


@dataclass(frozen=True)
class Insights:
    period: Period
    previous_period: Period
    filters: Filters
    time_zone: str
    generated_at: datetime
    severities: tuple[str, ...]
    incident_count: int
    weeks: list[WeekCount]
    response_times: list[ResponseTimes]
    steps: list[StepTime]
    top_by_incidents: list[ServiceFigure]
    top_by_downtime: list[ServiceFigure]
    postmortems: PostmortemFigures
    action_items: ActionItemCounts

    @property
    def overall(self) -> ResponseTimes:
        return self.response_times[-1]


def insights_for(period: Period, filters: Filters, *, now: datetime | None = None) -> Insights:
    """Every figure of the dashboard, with a fixed number of queries."""
    now = now or timezone.now()
    rows = load(period, filters, today=local_date(now))
    return compute(rows, period, filters, now=now)


def compute(rows: Rows, period: Period, filters: Filters, *, now: datetime) -> Insights:
    start, end = period.bounds()
    previous_start, _ = period.previous().bounds()
    current = [row for row in rows.incidents if start <= row.detected_at < end]
    previous = [row for row in rows.incidents if previous_start <= row.detected_at < start]
    severities = filters.shown_severities
    by_service = _by_service(rows, current, period, filters, now=now)
    return Insights(
        period=period,
        previous_period=period.previous(),
        filters=filters,
        time_zone=settings.BUSINESS_TIME_ZONE,
        generated_at=now,
        severities=severities,
        incident_count=len(current),
        weeks=_weeks(current, period, severities),
        response_times=_response_times(current, previous, severities),
        steps=_steps(current, rows.moves),
        top_by_incidents=sorted(
            (figure for figure in by_service if figure.incidents),
            key=lambda figure: (-figure.incidents, figure.name),
        )[:TOP_SERVICES],
        top_by_downtime=sorted(
            (figure for figure in by_service if figure.downtime_minutes),
            key=lambda figure: (-figure.downtime_minutes, figure.name),
        )[:TOP_SERVICES],
        postmortems=_postmortems(rows.postmortems, now=now),
        action_items=rows.action_items,
    )


# --- Weeks and response times -----------------------------------------------------------------


def _weeks(current: list[IncidentRow], period: Period, severities) -> list[WeekCount]:
    counts = Counter((week_start(local_date(row.detected_at)), row.severity) for row in current)
    return [
        WeekCount(monday, {level: counts[(monday, level)] for level in severities})
        for monday in period.weeks()
    ]


def _minutes(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else max((end - start) / MINUTE, 0.0)


def _spreads(rows: list[IncidentRow]) -> tuple[Spread, Spread]:
    ack = (_minutes(row.detected_at, row.acknowledged_at) for row in rows)
    resolve = (_minutes(row.detected_at, row.resolved_at) for row in rows)
    return (
        Spread.of(m for m in ack if m is not None),
        Spread.of(m for m in resolve if m is not None),
    )


def _response_times(current, previous, severities) -> list[ResponseTimes]:
    groups = [(level, [level]) for level in severities] + [(ALL, list(severities))]
    result = []
    for name, levels in groups:
        now_ack, now_resolve = _spreads([row for row in current if row.severity in levels])
        then_ack, then_resolve = _spreads([row for row in previous if row.severity in levels])
        result.append(ResponseTimes(name, now_ack, now_resolve, then_ack, then_resolve))
    return result


# --- Playbook steps ---------------------------------------------------------------------------


def step_minutes(detected_at: datetime, moves: list[StatusMove]) -> dict[str, float]:
    """Minutes an incident spent in each measured step, summed over its finished visits."""
    spent: dict[str, float] = {}
    since = detected_at
    for move in moves:
        step = STEP_OF_STATUS.get(move.from_status)
        if step is not None:
            spent[step] = spent.get(step, 0.0) + max((move.at - since) / MINUTE, 0.0)
        since = move.at
    return spent


def _steps(current: list[IncidentRow], moves: dict[int, list[StatusMove]]) -> list[StepTime]:
    per_step: dict[str, list[float]] = {step: [] for step in MEASURED_STEPS}
    for row in current:
        for step, minutes in step_minutes(row.detected_at, moves.get(row.id, [])).items():
            per_step[step].append(minutes)
    return [StepTime(step, Step(step).label, Spread.of(per_step[step])) for step in MEASURED_STEPS]


# --- Services and downtime --------------------------------------------------------------------


def downtime_interval(
    row: IncidentRow, period: Period, *, now: datetime
) -> tuple[datetime, datetime] | None:
    """The part of the incident's downtime inside the period, or None if it has none there."""
    if not (row.severity in DOWNTIME_SEVERITIES or row.customer_facing):
        return None
    start, end = period.bounds()
    stop = row.resolved_at or row.closed_at or now
    clipped = (max(row.detected_at, start), min(stop, end, now))
    return clipped if clipped[0] < clipped[1] else None


def union_minutes(intervals: list[tuple[datetime, datetime]]) -> float:
    """Minutes covered by at least one interval (overlaps counted once)."""
    total = timedelta()
    covered_until: datetime | None = None
    for start, end in sorted(intervals):
        if covered_until is not None and start < covered_until:
            start = covered_until
        if end > start:
            total += end - start
            covered_until = end
    return round(total / MINUTE, 1)


def _by_service(rows: Rows, current, period: Period, filters: Filters, *, now) -> list:
    incidents: Counter[int] = Counter()
    downtime: dict[int, list[tuple[datetime, datetime]]] = {}
    known: dict[int, ServiceRef] = {}
    current_ids = {row.id for row in current}
    for row in rows.incidents:
        interval = downtime_interval(row, period, now=now)
        for service in rows.services_of.get(row.id, []):
            # With a service filter, the incidents' other services are not what was asked for.
            if filters.service is not None and service.id != filters.service.pk:
                continue
            known[service.id] = service
            if row.id in current_ids:
                incidents[service.id] += 1
            if interval is not None:
                downtime.setdefault(service.id, []).append(interval)
    return [
        ServiceFigure(
            service.slug,
            service.name,
            incidents[service_id],
            union_minutes(downtime.get(service_id, [])),
        )
        for service_id, service in known.items()
    ]


# --- Postmortems ------------------------------------------------------------------------------


def _postmortems(postmortems, *, now: datetime) -> PostmortemFigures:
    on_time = late = overdue = pending = 0
    for due_at, published_at in postmortems:
        if published_at is not None:
            if published_at <= due_at:
                on_time += 1
            else:
                late += 1
        elif due_at < now:
            overdue += 1
        else:
            pending += 1
    return PostmortemFigures(len(postmortems), on_time, late, overdue, pending)
