"""Daily rollups of one component's status history: pure functions, no database.

Days are calendar days in the page's time zone (settings.TIME_ZONE). A day is the span between
two local midnights taken as aware datetimes and compared in UTC, so a DST day is 23 or 25 hours
long. (Subtracting two datetimes that share one zoneinfo tzinfo would give wall-clock time and
count the DST day as 24 hours.)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from django.utils import timezone

from catalog.models import STATUS_SEVERITY, ComponentStatus

# Downtime weights per status: a partial outage counts 30 % of a major outage (the weighting
# Statuspage and Instatus document); degraded performance and maintenance are not downtime.
DOWNTIME_WEIGHTS = {
    ComponentStatus.MAJOR_OUTAGE.value: 1.0,
    ComponentStatus.PARTIAL_OUTAGE.value: 0.3,
}

# Days the page's bars show, ending today.
WINDOW_DAYS = 90


def window_first_day(today: date) -> date:
    return today - timedelta(days=WINDOW_DAYS - 1)


def page_zone() -> tzinfo:
    return timezone.get_default_timezone()


def local_day(moment: datetime, zone: tzinfo) -> date:
    return timezone.localtime(moment, zone).date()


def day_start(day: date, zone: tzinfo) -> datetime:
    """The local midnight opening `day`, in UTC."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def day_end(day: date, zone: tzinfo) -> datetime:
    return day_start(day + timedelta(days=1), zone)


def covered(
    day: date, zone: tzinfo, *, created_at: datetime, now: datetime
) -> tuple[datetime, datetime] | None:
    """The part of `day` with data (in UTC): after the component existed, not after `now`."""
    lo = max(day_start(day, zone), created_at.astimezone(UTC))
    hi = min(day_end(day, zone), now.astimezone(UTC))
    return (lo, hi) if hi > lo else None


def covered_minutes(day: date, zone: tzinfo, *, created_at: datetime, now: datetime) -> float:
    span = covered(day, zone, created_at=created_at, now=now)
    return (span[1] - span[0]).total_seconds() / 60 if span else 0.0


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


@dataclass(frozen=True)
class DayRollup:
    day: date
    minutes: dict[str, float]  # minutes in each non-operational status that day
    worst_status: str
    downtime_minutes: float


def downtime(minutes: dict[str, float]) -> float:
    return round(sum(minutes.get(s, 0.0) * w for s, w in DOWNTIME_WEIGHTS.items()), 2)


def _intervals(
    initial: str, changes: Sequence[tuple[datetime, str]], start: datetime, end: datetime
) -> Iterator[tuple[datetime, datetime, str]]:
    """(from, to, status) pieces covering [start, end), from the status at `start` and the
    changes after it (oldest first)."""
    status, at = initial, start
    for changed_at, new in changes:
        if changed_at >= end:
            break
        if changed_at > at:
            yield at, changed_at, status
            at = changed_at
        status = new
    if end > at:
        yield at, end, status


def day_rollups(
    *,
    initial: str,
    changes: Sequence[tuple[datetime, str]],
    days: Iterable[date],
    created_at: datetime,
    now: datetime,
    zone: tzinfo,
) -> list[DayRollup]:
    """One rollup per day with data (days before `created_at` or after `now` have none).

    `initial` is the status at the start of the first covered day; `changes` are the
    (changed_at, status) pairs after it, oldest first.
    """
    spans = {day: covered(day, zone, created_at=created_at, now=now) for day in days}
    spans = {day: span for day, span in spans.items() if span}
    if not spans:
        return []
    start = min(lo for lo, _hi in spans.values())
    end = max(hi for _lo, hi in spans.values())
    pieces = list(_intervals(initial, changes, start, end))
    rollups = []
    index = 0
    for day in sorted(spans):
        lo, hi = spans[day]
        seconds: dict[str, float] = defaultdict(float)
        # Pieces and days are both in time order: skip the pieces that ended before this day.
        while index < len(pieces) and pieces[index][1] <= lo:
            index += 1
        for piece_lo, piece_hi, status in pieces[index:]:
            if piece_lo >= hi:
                break
            seconds[status] += (min(piece_hi, hi) - max(piece_lo, lo)).total_seconds()
        minutes = {
            status: round(value / 60, 2)
            for status, value in seconds.items()
            if status != ComponentStatus.OPERATIONAL and value > 0
        }
        worst = max(
            (s for s, value in seconds.items() if value > 0),
            key=lambda s: STATUS_SEVERITY[ComponentStatus(s)],
            default=ComponentStatus.OPERATIONAL.value,
        )
        rollups.append(
            DayRollup(
                day=day,
                minutes=minutes,
                worst_status=str(worst),
                downtime_minutes=downtime(minutes),
            )
        )
    return rollups
