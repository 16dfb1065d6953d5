"""The 90-day uptime bars of the public components, read in one query.

Only what the bars show is copied out of UptimeDay: per day the worst status, the minutes in
each non-operational status, the downtime and the public incidents' ids and public names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils.dateformat import format as date_format

from catalog.models import STATUS_SEVERITY, ComponentStatus

from ..models import UptimeDay
from ..uptime.rollup import WINDOW_DAYS, covered_minutes, local_day, page_zone, window_first_day
from .components import PublicComponents

_LABELS = dict(ComponentStatus.choices)
# The bars are most of /status/ (50 components x 90 days), so their markup is kept short
# (statuspage/templates/statuspage/_uptime.html). The chart is a viewBox 2 units high stretched
# to its height, with a stroke 2 wide dashed BAR_WIDTH on, BAR_GAP off (set once on the <svg>):
# a horizontal line `M<x> 1h<length>` through the middle draws one bar per BAR_STEP of its
# length, so a run of days is one short line, all in integers.
BAR_WIDTH = 3
BAR_GAP = 1
BAR_STEP = BAR_WIDTH + BAR_GAP
BARS_WIDTH = WINDOW_DAYS * BAR_STEP - BAR_GAP
# The class of a bar by its status (static/css/statuspage.css); operational is the SVG's own
# colour and needs none.
_MARKS = {
    ComponentStatus.OPERATIONAL: "",
    ComponentStatus.DEGRADED_PERFORMANCE: "d",
    ComponentStatus.PARTIAL_OUTAGE: "p",
    ComponentStatus.MAJOR_OUTAGE: "m",
    ComponentStatus.UNDER_MAINTENANCE: "u",
}
NO_DATA_MARK = "n"
# What a quiet day (most of them) says after its date, and a day without data.
QUIET_DAY = "No downtime"
NO_DATA = "No data"


@dataclass(frozen=True)
class UptimeBar:
    day: date
    status: str | None  # the day's worst status; None: no data
    x: int  # the bar's left edge
    title: str  # the tooltip: date, then status, minutes, downtime, incidents if any
    # Nothing to say but the date: no data, or operational all day without downtime or incident.
    quiet: bool = False

    @property
    def css(self) -> str:
        return self.status or "none"

    @property
    def mark(self) -> str:
        """The bar's short class: "" when operational."""
        return NO_DATA_MARK if self.status is None else _MARKS.get(self.status, "")


@dataclass(frozen=True)
class BarRun:
    """One SVG element: a day with something to say, or consecutive quiet days of one colour.

    Each day is still its own bar (a dash of the line `path` draws); quiet days share the element
    and its tooltip (their dates, then "No downtime" or "No data"), which keeps a page of 4,500
    bars small enough to serve at the speed of a trivial view (bench/README.md, "Status
    surge"). Days with something to say keep their own element and tooltip."""

    mark: str
    path: str
    title: str


def _span(first: date, last: date) -> str:
    if first == last:
        return date_format(first, "j M Y")
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}–{date_format(last, 'j M Y')}"
    start = date_format(first, "j M" if first.year == last.year else "j M Y")
    return f"{start} – {date_format(last, 'j M Y')}"


def _line(first: UptimeBar, days: int) -> str:
    """The path of `days` bars from `first` on: their dashes, without the last gap."""
    return f"M{first.x} 1h{days * BAR_STEP - BAR_GAP}"


def bar_runs(bars: tuple[UptimeBar, ...]) -> tuple[BarRun, ...]:
    """The elements that draw `bars`, left to right."""
    runs: list[BarRun] = []
    group: list[UptimeBar] = []

    def flush() -> None:
        if group:
            said = NO_DATA if group[0].status is None else QUIET_DAY
            title = f"{_span(group[0].day, group[-1].day)}\n{said}"
            runs.append(BarRun(mark=group[0].mark, path=_line(group[0], len(group)), title=title))
            group.clear()

    for bar in bars:
        if bar.quiet and (not group or group[-1].mark == bar.mark):
            group.append(bar)
            continue
        flush()
        if bar.quiet:
            group.append(bar)
        else:
            runs.append(BarRun(mark=bar.mark, path=_line(bar, 1), title=bar.title))
    flush()
    return tuple(runs)


@dataclass(frozen=True)
class ComponentUptime:
    bars: tuple[UptimeBar, ...]  # oldest first, WINDOW_DAYS of them, ending today
    percent: str  # "99.95%"; "100%" without downtime
    label: str  # the chart's accessible name

    # The SVG's geometry, for the template.
    days = WINDOW_DAYS
    width = BARS_WIDTH
    bar_width = BAR_WIDTH
    bar_gap = BAR_GAP

    @property
    def runs(self) -> tuple[BarRun, ...]:
        """What the template draws (rendered once per cache version)."""
        return bar_runs(self.bars)


def _minutes(value: float) -> str:
    return f"{value:.0f} min" if value == int(value) else f"{value:.1f} min"


def uptime_percent(downtime: float, minutes_with_data: float) -> str:
    """1 - downtime / minutes with data, rounded down to two decimals: a day with any downtime
    never reads "100%"."""
    if downtime <= 0 or minutes_with_data <= 0:
        return "100%"
    share = max(0.0, 1 - downtime / minutes_with_data)
    return f"{math.floor(share * 10000) / 100:.2f}%"


def _quiet(row: dict) -> bool:
    """Operational all day, with no downtime and no incident: nothing to say but the date."""
    return (
        row["worst_status"] == ComponentStatus.OPERATIONAL
        and row["downtime_minutes"] <= 0
        and not row["incidents"]
        and not any(m > 0 for s, m in row["minutes"].items() if s != ComponentStatus.OPERATIONAL)
    )


def _title(day: date, row: dict | None) -> str:
    lines = [date_format(day, "j M Y")]
    if row is None:
        return "\n".join([*lines, NO_DATA])
    if _quiet(row):
        return "\n".join([*lines, QUIET_DAY])
    lines.append(_LABELS.get(row["worst_status"], row["worst_status"]))
    minutes = sorted(
        ((s, m) for s, m in row["minutes"].items() if s in STATUS_SEVERITY and m > 0),
        key=lambda item: STATUS_SEVERITY[ComponentStatus(item[0])],
        reverse=True,
    )
    if minutes:
        lines.append(", ".join(f"{_LABELS[s]} {_minutes(m)}" for s, m in minutes))
    downtime = row["downtime_minutes"]
    lines.append(f"Downtime {_minutes(downtime)}" if downtime > 0 else "No downtime")
    lines.extend(f"Incident: {i['name']} ({i['id']})" for i in row["incidents"])
    return "\n".join(lines)


def component_uptimes(components: PublicComponents, *, now: datetime) -> dict[str, ComponentUptime]:
    """Each public leaf component's bars for the WINDOW_DAYS days ending today (one query)."""
    zone = page_zone()
    today = local_day(now, zone)
    first = window_first_day(today)
    days = [first + timedelta(days=n) for n in range(WINDOW_DAYS)]
    rows: dict[str, dict[date, dict]] = {c.id: {} for c in components.leaves}
    query = UptimeDay.objects.filter(service__show_on_status_page=True, day__gte=first).values(
        "service_id", "day", "worst_status", "minutes", "downtime_minutes", "incidents"
    )
    for row in query:
        by_day = rows.get(str(row["service_id"]))
        if by_day is not None and row["day"] <= today:
            by_day[row["day"]] = row
    result = {}
    for component in components.leaves:
        by_day = rows[component.id]
        downtime = sum(row["downtime_minutes"] for row in by_day.values())
        with_data = sum(
            covered_minutes(day, zone, created_at=component.created_at, now=now) for day in by_day
        )
        percent = uptime_percent(downtime, with_data)
        result[component.id] = ComponentUptime(
            bars=tuple(
                UptimeBar(
                    day=day,
                    status=by_day[day]["worst_status"] if day in by_day else None,
                    x=index * BAR_STEP,
                    title=_title(day, by_day.get(day)),
                    quiet=day not in by_day or _quiet(by_day[day]),
                )
                for index, day in enumerate(days)
            ),
            percent=percent,
            label=f"{component.name}: {percent} uptime over the last {WINDOW_DAYS} days",
        )
    return result
