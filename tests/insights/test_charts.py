"""The server-rendered SVG charts: well-formed XML, one bar per value, labels, hover titles,
accessible names, and escaped text."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

import pytest

from insights.charts import Bar, horizontal_bars, nice_ticks, response_bars, weekly_stacked
from insights.figures import ALL, ResponseTimes, WeekCount
from insights.stats import EMPTY, Spread

NS = {"svg": "http://www.w3.org/2000/svg"}


def _parse(svg) -> ET.Element:
    return ET.fromstring(str(svg))


def _bars(root: ET.Element) -> list[ET.Element]:
    return [
        rect
        for rect in root.iterfind(".//svg:rect", NS)
        if "bar" in rect.get("class", "").split() and "swatch" not in rect.get("class", "")
    ]


def _texts(root: ET.Element, css: str) -> list[str]:
    return [t.text for t in root.iterfind(".//svg:text", NS) if t.get("class") == css]


WEEKS = [
    WeekCount(date(2025, 3, 17), {"P0": 0, "P1": 1, "P2": 0, "P3": 0}),
    WeekCount(date(2025, 3, 24), {"P0": 0, "P1": 2, "P2": 1, "P3": 0}),
    WeekCount(date(2025, 3, 31), {"P0": 1, "P1": 0, "P2": 1, "P3": 1}),
]


def test_weekly_chart_stacks_one_bar_per_nonzero_count():
    root = _parse(weekly_stacked(WEEKS, ("P0", "P1", "P2", "P3")))
    assert root.get("role") == "img"
    assert root.get("width") == "100%"
    assert root.get("viewBox").startswith("0 0 ")
    assert "7 in 3 weeks" in root.get("aria-label")
    bars = _bars(root)
    # 1 + 2 + 3 non-zero (week, severity) pairs.
    assert len(bars) == 6
    titles = [bar.find("svg:title", NS).text for bar in bars]
    assert "Week of 24 Mar 2025 · P1: 2" in titles
    assert _texts(root, "legend") == ["P0", "P1", "P2", "P3"]
    assert _texts(root, "tick")[-3:] == ["17 Mar", "24 Mar", "31 Mar"]
    # Totals above the bars, and a y axis from 0 to at least the largest week.
    assert _texts(root, "value") == ["1", "3", "3"]
    assert _texts(root, "tick")[0] == "0"


def test_weekly_bars_stack_upwards_with_heights_proportional_to_counts():
    root = _parse(weekly_stacked(WEEKS[1:2], ("P0", "P1", "P2", "P3")))
    p1, p2 = _bars(root)
    assert "bar-p1" in p1.get("class") and "bar-p2" in p2.get("class")
    # Coordinates are rounded to 0.1 unit.
    assert float(p1.get("height")) == pytest.approx(2 * float(p2.get("height")), abs=0.2)
    # P2 sits on top of P1.
    assert float(p2.get("y")) + float(p2.get("height")) == pytest.approx(
        float(p1.get("y")), abs=0.1
    )


def test_weekly_labels_thin_out_when_weeks_are_many():
    weeks = [WeekCount(date(2024, 1, 1).replace(day=1), {"P0": 1}) for _ in range(53)]
    root = _parse(weekly_stacked(weeks, ("P0",)))
    week_labels = [t for t in _texts(root, "tick") if not t.isdigit()]
    assert 5 <= len(week_labels) <= 14


def test_empty_weekly_chart_says_so():
    root = _parse(weekly_stacked([WeekCount(date(2025, 3, 17), {"P0": 0})], ("P0",)))
    assert _bars(root) == []
    assert _texts(root, "empty") == ["No incidents"]


def test_response_chart_draws_median_and_p90_per_severity():
    rows = [
        ResponseTimes("P0", Spread(1, 2.0, 2.0), EMPTY, EMPTY, EMPTY),
        ResponseTimes("P1", Spread(3, 10.0, 30.0), EMPTY, EMPTY, EMPTY),
        ResponseTimes("P3", EMPTY, EMPTY, EMPTY, EMPTY),
        ResponseTimes(ALL, Spread(4, 6.0, 30.0), EMPTY, EMPTY, EMPTY),
    ]
    root = _parse(response_bars(rows, "mtta"))
    bars = _bars(root)
    assert len(bars) == 6  # median + p90 for P0, P1 and All; P3 has no data
    assert sum("bar-p90" in bar.get("class") for bar in bars) == 3
    assert _texts(root, "label") == ["P0", "P1", "P3", "All"]
    assert _texts(root, "empty-row") == ["no data"]
    assert "P1 median 10 min, p90 30 min" in root.get("aria-label")
    # The p90 bar of P1 is three times as long as its median bar.
    p1_median, p1_p90 = bars[2:4]
    assert float(p1_p90.get("width")) == pytest.approx(3 * float(p1_median.get("width")), abs=0.3)


def test_long_durations_switch_the_axis_to_hours():
    rows = [ResponseTimes("P2", EMPTY, Spread(2, 240.0, 600.0), EMPTY, EMPTY)]
    root = _parse(response_bars(rows, "mttr"))
    assert _texts(root, "value") == ["4 h", "p90 10 h"]
    assert all(tick.endswith(" h") for tick in _texts(root, "tick"))


def test_horizontal_bars_escape_names_and_cut_long_labels():
    name = '<script>alert("x")</script> & a very long service name'
    svg = horizontal_bars([Bar(name, 3), Bar("Search", 1)], title="Incidents per service")
    assert "<script>" not in str(svg)
    root = _parse(svg)
    assert len(_bars(root)) == 2
    label = _texts(root, "label")[0]
    assert label.endswith("…") and len(label) == 19
    # The full name is in the hover titles.
    titles = [title.text for title in root.iterfind(".//svg:title", NS)]
    assert name in titles
    assert f"{name}: 3" in titles
    assert _texts(root, "value") == ["3", "1"]


def test_horizontal_bars_without_data():
    root = _parse(horizontal_bars([], title="Downtime per service", duration=True))
    assert _bars(root) == []
    assert _texts(root, "empty") == ["No data"]
    assert root.get("aria-label") == "Downtime per service: no data"


def test_nice_ticks():
    assert nice_ticks(3, integer=True) == [0, 1, 2, 3]
    assert nice_ticks(7, integer=True) == [0, 2, 4, 6, 8]
    assert nice_ticks(0) == [0, 1]
    assert nice_ticks(42) == [0, 10, 20, 30, 40, 50]
    assert nice_ticks(1.2) == [0, 0.25, 0.5, 0.75, 1, 1.25]
