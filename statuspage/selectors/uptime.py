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
BAR_WIDTH = 3
BAR_STEP = 4  # width + 1 unit of gap
BARS_WIDTH = WINDOW_DAYS * BAR_STEP - (BAR_STEP - BAR_WIDTH)


@dataclass(frozen=True)
class UptimeBar:
    day: date
    status: str | None  # the day's worst status; None: no data
    x: int
    title: str  # the tooltip: date, status, minutes, downtime, incidents

    @property
    def css(self) -> str:
        return self.status or "none"


@dataclass(frozen=True)
class ComponentUptime:
    bars: tuple[UptimeBar, ...]  # oldest first, WINDOW_DAYS of them, ending today
    percent: str  # "99.95%"; "100%" without downtime
    label: str  # the chart's accessible name

    # The SVG's geometry, for the template.
    days = WINDOW_DAYS
    width = BARS_WIDTH
    bar_width = BAR_WIDTH


def _minutes(value: float) -> str:
    return f"{value:.0f} min" if value == int(value) else f"{value:.1f} min"


def uptime_percent(downtime: float, minutes_with_data: float) -> str:
    """1 - downtime / minutes with data, rounded down to two decimals: a day with any downtime
    never reads "100%"."""
    if downtime <= 0 or minutes_with_data <= 0:
        return "100%"
    share = max(0.0, 1 - downtime / minutes_with_data)
    return f"{math.floor(share * 10000) / 100:.2f}%"


def _title(day: date, row: dict | None) -> str:
    lines = [date_format(day, "j M Y")]
    if row is None:
        return "\n".join([*lines, "No data"])
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
                )
                for index, day in enumerate(days)
            ),
            percent=percent,
            label=f"{component.name}: {percent} uptime over the last {WINDOW_DAYS} days",
        )
    return result
