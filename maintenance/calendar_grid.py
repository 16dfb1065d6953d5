"""The month calendar of the maintenance page: weeks of days, each with the windows on it.

Pure layout over windows already loaded (one query by the caller), in UTC like the rest of the
maintenance pages. Weeks start on Monday; the grid covers whole weeks, so the first and last
rows show days of the neighbouring months (greyed).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta


@dataclass
class Day:
    date: date
    in_month: bool
    is_today: bool
    windows: list = field(default_factory=list)


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def containing(cls, moment: datetime) -> Month:
        moment = moment.astimezone(UTC)
        return cls(moment.year, moment.month)

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def weeks(self) -> list[list[date]]:
        """Every day shown: whole weeks, Monday first, covering the month."""
        return calendar.Calendar(firstweekday=0).monthdatescalendar(self.year, self.month)

    def bounds(self) -> tuple[datetime, datetime]:
        """The grid's first instant and the instant after its last day (UTC)."""
        weeks = self.weeks()
        start = datetime.combine(weeks[0][0], time.min, tzinfo=UTC)
        end = datetime.combine(weeks[-1][-1] + timedelta(days=1), time.min, tzinfo=UTC)
        return start, end


def month_grid(month: Month, windows, *, today: date) -> list[list[Day]]:
    """Weeks of `Day`s; a window appears on every day it overlaps (UTC), in start order."""
    weeks = [
        [Day(date=day, in_month=day.month == month.month, is_today=day == today) for day in week]
        for week in month.weeks()
    ]
    by_date = {day.date: day for week in weeks for day in week}
    for window in sorted(windows, key=lambda w: (w.scheduled_start, w.pk)):
        first = window.scheduled_start.astimezone(UTC).date()
        # A window ending exactly at midnight does not occupy the next day.
        last = (window.scheduled_end.astimezone(UTC) - timedelta(microseconds=1)).date()
        day = max(first, weeks[0][0].date)
        while day <= last and day in by_date:
            by_date[day].windows.append(window)
            day += timedelta(days=1)
    return weeks
