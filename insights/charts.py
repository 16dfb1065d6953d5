"""The dashboard's charts as inline SVG, built as strings on the server: no library, no script.

Each chart is `role="img"` with an `aria-label` summing it up (the table under it has the
numbers for screen readers), and every bar carries a `<title>` the browser shows on hover.
Colours come from CSS variables through classes (static/css/insights.css), so dark mode only
swaps the variables. Sizes are in viewBox units: the SVG is `width="100%"` and scales with its
card; 520 units wide keeps 13-unit text at 13-16 px in a desktop card, and the page gives the
chart a minimum width on a phone (scrolling sideways) rather than shrinking its text to nothing.

Every piece of text goes through `_e()`; the functions return SafeStrings only once the whole
document is built from escaped parts.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.safestring import SafeString, mark_safe

from .figures import ALL, ResponseTimes, WeekCount

WIDTH = 520
LABEL_CHAR = 7.2  # average width of a 12-13 unit character, for spacing labels


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _num(value: float) -> str:
    """1 decimal at most, none for whole numbers: 12, 12.5 (never 12.0)."""
    rounded = round(value, 1)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded:.1f}"


def _svg(*, height: float, label: str, css: str, body: list[str]) -> SafeString:
    return mark_safe(  # noqa: S308 (every part is escaped with _e or is our own markup)
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {_e(css)}" '
        f'viewBox="0 0 {WIDTH} {_num(height)}" width="100%" font-size="13" '
        f'role="img" aria-label="{_e(label)}">' + "".join(body) + "</svg>"
    )


def _text(x: float, y: float, text: str, css: str, anchor: str = "start") -> str:
    return (
        f'<text class="{css}" x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}">{_e(text)}</text>'
    )


def _rect(x: float, y: float, w: float, h: float, css: str, title: str = "") -> str:
    shape = f'<rect class="{css}" x="{_num(x)}" y="{_num(y)}" width="{_num(w)}" height="{_num(h)}"'
    return f"{shape}><title>{_e(title)}</title></rect>" if title else f"{shape}/>"


def _line(x1: float, y1: float, x2: float, y2: float, css: str) -> str:
    return f'<line class="{css}" x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}"/>'


def nice_ticks(maximum: float, *, integer: bool = False, count: int = 5) -> list[float]:
    """Round ticks from 0 to at least `maximum`: steps of 1, 2, 2.5 or 5 times a power of 10."""
    if maximum <= 0:
        return [0, 1]
    raw = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw))
    multiples = (1, 2, 5, 10) if integer else (1, 2, 2.5, 5, 10)
    step = next(m * magnitude for m in multiples if m * magnitude >= raw)
    if integer:
        step = max(1, round(step))
    steps = math.ceil(maximum / step - 1e-9)
    return [round(i * step, 6) for i in range(steps + 1)]


@dataclass(frozen=True)
class DurationUnit:
    """The unit of a duration axis that keeps its ticks readable: min, h or d."""

    minutes: int
    suffix: str

    @classmethod
    def for_max(cls, largest_minutes: float) -> DurationUnit:
        if largest_minutes >= 3 * 1440:
            return cls(1440, "d")
        if largest_minutes >= 180:
            return cls(60, "h")
        return cls(1, "min")


def human_minutes(minutes: float) -> str:
    """A duration for a value label: 45 min, 1.5 h, 4.9 d."""
    if minutes < 100:
        return f"{_num(minutes)} min"
    if minutes < 48 * 60:
        return f"{_num(minutes / 60)} h"
    return f"{_num(minutes / 1440)} d"


def _label_width(labels) -> float:
    """Room to keep for the longest value label right of the bars (bold 12-unit digits)."""
    return max((len(label) for label in labels), default=0) * 7.5 + 10


def _severity_class(level: str) -> str:
    return "all" if level == ALL else level.lower()


def _severity_name(level: str) -> str:
    return "All" if level == ALL else level


# --- Incidents per week, stacked by severity --------------------------------------------------


def weekly_stacked(weeks: Sequence[WeekCount], severities: Sequence[str]) -> SafeString:
    left, right, top, bottom = 40, 12, 36, 30
    height = 272
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    totals = [week.total for week in weeks]
    ticks = nice_ticks(max(totals, default=0), integer=True)
    scale = plot_h / ticks[-1]
    base = top + plot_h
    total = sum(totals)
    first, last = (weeks[0].week_start, weeks[-1].week_start) if weeks else (None, None)
    label = f"Incidents per week by severity: {total} in {len(weeks)} weeks" + (
        f", weeks of {first:%d %b %Y} to {last:%d %b %Y}" if first else ""
    )
    entries = [(level, f"bar bar-{_severity_class(level)}") for level in severities]
    body = _legend(entries, top=4, left=left)
    for tick in ticks:
        y = base - tick * scale
        body.append(_line(left, y, WIDTH - right, y, "grid"))
        body.append(_text(left - 6, y + 4, _num(tick), "tick", "end"))
    band = plot_w / max(len(weeks), 1)
    bar_w = min(band * 0.72, 44)
    every = max(1, math.ceil(len(weeks) * 6 * LABEL_CHAR / plot_w))
    for index, week in enumerate(weeks):
        x = left + index * band + (band - bar_w) / 2
        y = base
        when = f"Week of {week.week_start:%d %b %Y}"
        for level in severities:
            count = week.by_severity.get(level, 0)
            if not count:
                continue
            h = count * scale
            y -= h
            css = f"bar bar-{_severity_class(level)}"
            body.append(_rect(x, y, bar_w, h, css, f"{when} · {level}: {count}"))
        if week.total and band >= 14:
            body.append(_text(x + bar_w / 2, y - 4, str(week.total), "value", "middle"))
        if index % every == 0:
            body.append(
                _text(x + bar_w / 2, base + 18, f"{week.week_start:%d %b}", "tick", "middle")
            )
    body.append(_line(left, base, WIDTH - right, base, "axis"))
    if not total:
        body.append(_text(left + plot_w / 2, top + plot_h / 2, "No incidents", "empty", "middle"))
    return _svg(height=height, label=label, css="chart-weekly", body=body)


def _legend(entries: list[tuple[str, str]], *, top: float, left: float) -> list[str]:
    """Swatch + name pairs on one line from `left` (the start stays visible when a phone
    scrolls the chart sideways)."""
    x = left
    parts = []
    for name, css in entries:
        parts.append(_rect(x, top, 14, 14, f"{css} swatch"))
        parts.append(_text(x + 20, top + 12, name, "legend"))
        x += 14 + 6 + len(name) * LABEL_CHAR + 14
    return parts


# --- MTTA / MTTR: median and p90 per severity -------------------------------------------------


def response_bars(rows: Sequence[ResponseTimes], metric: str) -> SafeString:
    """Grouped horizontal bars, one group per severity: median (solid) above p90 (pale)."""
    title = {"mtta": "Time to acknowledge (MTTA)", "mttr": "Time to resolve (MTTR)"}[metric]
    spreads = [(row.severity, getattr(row, metric)) for row in rows]
    largest = max((s.p90 or 0 for _level, s in spreads), default=0)
    unit = DurationUnit.for_max(largest)
    values = {
        (level, kind): value
        for level, spread in spreads
        if spread.count
        for kind, value in (("median", spread.median), ("p90", spread.p90))
    }
    labels = {
        key: human_minutes(value) if key[1] == "median" else f"p90 {human_minutes(value)}"
        for key, value in values.items()
    }
    left, top, bottom = 52, 26, 30
    right = max(_label_width(labels.values()), 24)
    group_h, bar_h = 40, 13
    height = top + group_h * len(spreads) + bottom
    plot_w = WIDTH - left - right
    ticks = nice_ticks(largest / unit.minutes)
    scale = plot_w / ticks[-1]
    base = top + group_h * len(spreads)
    summary = "; ".join(
        f"{_severity_name(level)} median {human_minutes(s.median)}, p90 {human_minutes(s.p90)}"
        if s.count
        else f"{_severity_name(level)} no data"
        for level, s in spreads
    )
    body = _legend([("median", "bar bar-all"), ("p90", "bar bar-all bar-p90")], top=2, left=left)
    for tick in ticks:
        x = left + tick * scale
        body.append(_line(x, top - 4, x, base, "grid"))
        body.append(_text(x, base + 18, f"{_num(tick)} {unit.suffix}", "tick", "middle"))
    for index, (level, spread) in enumerate(spreads):
        y = top + index * group_h + 6
        name = _severity_name(level)
        body.append(_text(left - 8, y + bar_h + 5, name, "label", "end"))
        if not spread.count:
            body.append(_text(left + 4, y + bar_h + 5, "no data", "empty-row"))
            continue
        css = f"bar bar-{_severity_class(level)}"
        for offset, kind in enumerate(("median", "p90")):
            value = values[(level, kind)]
            width = value / unit.minutes * scale
            bar_y = y + offset * (bar_h + 2)
            tip = f"{name} {title}: {kind} {human_minutes(value)} (n={spread.count})"
            extra = " bar-p90" if kind == "p90" else ""
            body.append(_rect(left, bar_y, max(width, 1.5), bar_h, css + extra, tip))
            body.append(_text(left + width + 5, bar_y + bar_h - 2, labels[(level, kind)], "value"))
    body.append(_line(left, top - 4, left, base, "axis"))
    return _svg(
        height=height, label=f"{title} by severity: {summary}", css="chart-response", body=body
    )


# --- Plain horizontal bars (playbook steps, top services) -------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    hover: str = ""


def horizontal_bars(
    bars: Sequence[Bar], *, title: str, duration: bool = False, css: str = "accent"
) -> SafeString:
    """One bar per item with its value at the end; long labels are cut, the hover has them.

    `duration`: values are minutes, shown as 45 min / 1.5 h / 4.9 d; otherwise counts.
    """
    largest = max((bar.value for bar in bars), default=0)
    scaler = DurationUnit.for_max(largest) if duration else None
    divisor = scaler.minutes if scaler else 1

    def show(value: float) -> str:
        return human_minutes(value) if duration else _num(value)

    # The label column fits the longest (cut) label, between 60 and 150 units.
    longest = max((min(len(bar.label), 19) for bar in bars), default=0)
    left, top, bottom = min(max(longest * 7.2 + 18, 60), 150), 8, 30
    right = max(_label_width(show(bar.value) for bar in bars), 24)
    row_h, bar_h = 28, 16
    rows = max(len(bars), 1)
    height = top + row_h * rows + bottom
    plot_w = WIDTH - left - right
    ticks = nice_ticks(largest / divisor, integer=not duration)
    scale = plot_w / ticks[-1]
    base = top + row_h * rows
    body = []
    for tick in ticks:
        x = left + tick * scale
        body.append(_line(x, top - 2, x, base, "grid"))
        tick_label = f"{_num(tick)} {scaler.suffix}" if scaler else _num(tick)
        body.append(_text(x, base + 18, tick_label, "tick", "middle"))
    for index, bar in enumerate(bars):
        y = top + index * row_h + (row_h - bar_h) / 2
        shown = bar.label if len(bar.label) <= 19 else bar.label[:18] + "…"
        body.append(f'<g class="row"><title>{_e(bar.label)}</title>')
        body.append(_text(left - 8, y + bar_h - 3, shown, "label", "end"))
        body.append("</g>")
        width = bar.value / divisor * scale
        hover = bar.hover or f"{bar.label}: {show(bar.value)}"
        body.append(_rect(left, y, max(width, 1.5), bar_h, f"bar bar-{css}", hover))
        body.append(_text(left + width + 5, y + bar_h - 3, show(bar.value), "value"))
    if not bars:
        body.append(_text(left + plot_w / 2, top + row_h / 2 + 4, "No data", "empty", "middle"))
    body.append(_line(left, top - 2, left, base, "axis"))
    summary = "; ".join(f"{bar.label} {show(bar.value)}" for bar in bars) or "no data"
    return _svg(height=height, label=f"{title}: {summary}", css="chart-bars", body=body)
