"""What the dashboard looks at: a period of whole local days, and the severity/service filters.

Days, weeks and "today" are those of `settings.BUSINESS_TIME_ZONE`: the team reads the
dashboard in its own calendar, and a week that starts on Monday starts at local midnight,
summer time or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from catalog.models import Service
from incidents.models import Severity

DEFAULT_PRESET = "last_90"
PRESETS: dict[str, str] = {
    "last_30": "Last 30 days",
    "last_90": "Last 90 days",
    "this_quarter": "This quarter",
}
# Long enough for a year-on-year look, short enough that the weekly chart stays a chart.
MAX_DAYS = 731


def business_zone() -> ZoneInfo:
    return ZoneInfo(settings.BUSINESS_TIME_ZONE)


def local_date(moment: datetime) -> date:
    """The calendar day `moment` falls on in the business time zone."""
    return moment.astimezone(business_zone()).date()


def week_start(day: date) -> date:
    """The Monday of the week `day` is in."""
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class Period:
    """Whole local days from `start` to `end`, both included."""

    start: date
    end: date
    preset: str | None = None

    def __post_init__(self):
        if self.end < self.start:
            raise ValueError("a period ends on or after its start")

    @classmethod
    def from_preset(cls, name: str, today: date) -> Period:
        """`last_30`/`last_90` end today; `this_quarter` runs from the quarter's first day to
        today (a quarter so far, not a forecast)."""
        if name == "last_30":
            return cls(today - timedelta(days=29), today, name)
        if name == "last_90":
            return cls(today - timedelta(days=89), today, name)
        if name == "this_quarter":
            first_month = 3 * ((today.month - 1) // 3) + 1
            return cls(date(today.year, first_month, 1), today, name)
        raise ValueError(f"unknown period preset {name!r}")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        span = f"{self.start:%d %b %Y} – {self.end:%d %b %Y}"
        return f"{PRESETS[self.preset]} ({span})" if self.preset else span

    def previous(self) -> Period:
        """The same number of days immediately before: what the trend compares against."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def bounds(self) -> tuple[datetime, datetime]:
        """[local midnight of `start`, local midnight after `end`) as aware datetimes.

        A day with a DST change is 23 or 25 hours long here, as it is on the team's clocks.
        Returned in UTC: Python subtracts two datetimes that share a tzinfo as wall-clock times,
        which would make that day 24 hours again.
        """
        zone = business_zone()
        return (
            datetime.combine(self.start, time.min, tzinfo=zone).astimezone(UTC),
            datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC),
        )

    def weeks(self) -> list[date]:
        """The Mondays of every week the period touches (the first and last may be partial)."""
        monday, last = week_start(self.start), week_start(self.end)
        mondays = []
        while monday <= last:
            mondays.append(monday)
            monday += timedelta(days=7)
        return mondays


@dataclass(frozen=True)
class Filters:
    """Which incidents count: empty `severities` means all of them."""

    severities: tuple[str, ...] = ()
    service: Service | None = None

    @property
    def shown_severities(self) -> tuple[str, ...]:
        """The selected severities in policy order (P0 first), or all of them."""
        chosen = set(self.severities) or set(Severity.values)
        return tuple(level for level in Severity.values if level in chosen)

    @property
    def service_slug(self) -> str | None:
        return self.service.slug if self.service else None
