"""The 90-day bars on /status/: server-rendered SVG, one bar per day with its tooltip, the
uptime %, read in one query whatever the number of components."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import ComponentStatus as S
from statuspage.cache import invalidate
from statuspage.selectors.uptime import UptimeBar, bar_runs
from statuspage.uptime import uptime_refresh
from tests.factories import ServiceGroupFactory
from tests.statuspage.incident_support import declare, publish
from tests.statuspage.uptime_support import history, service_created

pytestmark = pytest.mark.django_db
HOME = "/status/"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def in_utc(settings):
    settings.TIME_ZONE = "UTC"


def _charts(html: str) -> dict[str, ET.Element]:
    """Each component's uptime SVG, parsed as XML, by the component id of its row."""
    charts = {}
    for row in re.finditer(r'data-component="([^"]+)">(.*?)</li>', html, re.S):
        svg = re.search(r"<svg .*?</svg>", row.group(2), re.S)
        if svg:
            charts[row.group(1)] = ET.fromstring(svg.group(0))
    return charts


# A bar's short class (statuspage/selectors/uptime.py) -> the status it shows.
MARKS = {
    None: "operational",
    "d": "degraded_performance",
    "p": "partial_outage",
    "m": "major_outage",
    "u": "under_maintenance",
    "n": "none",
}


LINE = re.compile(r"M(\d+) 1h(\d+)")


def _bars(chart: ET.Element) -> list[tuple[str, str]]:
    """(status, tooltip) per day, left to right. A path is a line dashed 3 on, 1 off: each dash
    is one day's bar; consecutive quiet days share a path and its tooltip."""
    assert chart.get("stroke-dasharray") == "3 1" and chart.get("viewBox") == "0 0 359 2"
    bars = []
    for path in chart.iter(f"{SVG}path"):
        start, length = map(int, LINE.fullmatch(path.get("d")).groups())
        assert (length + 1) % 4 == 0
        days = range(start, start + length + 1, 4)
        bars += [(x, MARKS[path.get("class")], path.find(f"{SVG}title").text) for x in days]
    assert [x for x, _css, _title in bars] == [4 * day for day in range(90)]
    return [(css, title) for _x, css, title in bars]


def test_each_component_has_ninety_bars_with_a_tooltip_and_its_uptime(client):
    now = timezone.now()
    outage = (now - timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    api = service_created(now - timedelta(days=10), name="API", group=ServiceGroupFactory())
    loner = service_created(now - timedelta(days=200), name="Mail", group=None)
    history(api, (outage, S.MAJOR_OUTAGE), (outage + timedelta(hours=1), S.OPERATIONAL))
    incident = declare(
        public_title='Checkout <script>alert("x")</script> & errors',
        services=[api],
        now=outage,
    )
    publish(incident, "Down.", now=outage + timedelta(minutes=5))
    publish(
        incident,
        "Up.",
        status="resolved",
        now=outage + timedelta(hours=1),
        component_status=S.OPERATIONAL,
    )
    uptime_refresh(now=now)

    html = client.get(HOME).content.decode()
    charts = _charts(html)

    assert set(charts) == {str(api.pk), str(loner.pk)}
    bars = _bars(charts[str(api.pk)])
    assert len(bars) == 90 and all(title for _css, title in bars)
    assert [css for css, _title in bars].count("none") == 79  # 11 days with data
    (down,) = [title for css, title in bars if css == "major_outage"]
    assert down == (
        f"{outage.day} {outage:%b %Y}\nMajor outage\nMajor outage 60 min\nDowntime 60 min\n"
        f'Incident: Checkout <script>alert("x")</script> & errors (INC-{incident.number})'
    )
    assert "<script>alert" not in html  # escaped in the page, read back intact as XML
    assert [css for css, _title in _bars(charts[str(loner.pk)])] == ["operational"] * 90
    assert "100% uptime" in html
    assert re.search(r"99\.\d\d% uptime", html)


def test_quiet_days_share_one_element_and_days_with_news_have_their_own(client):
    """The bars are most of the page (50 components x 90 days): consecutive quiet days of one
    colour are one dashed line whose tooltip gives their dates and "No downtime" (or "No data");
    a day with something to say is an element of its own."""
    now = timezone.now().replace(hour=12)
    outage = now - timedelta(days=5)
    api = service_created(now - timedelta(days=200), name="API")
    history(api, (outage, S.MAJOR_OUTAGE), (outage + timedelta(hours=1), S.OPERATIONAL))
    uptime_refresh(now=now)
    html = client.get(HOME).content.decode()
    (chart,) = _charts(html).values()
    paths = [(path.get("class"), path.get("d")) for path in chart.iter(f"{SVG}path")]
    assert paths == [(None, "M0 1h335"), ("m", "M336 1h3"), (None, "M340 1h19")]  # 84, 1, 5
    titles = [path.find(f"{SVG}title").text for path in chart.iter(f"{SVG}path")]
    assert titles[0].endswith("\nNo downtime") and titles[2].endswith("\nNo downtime")
    assert titles[1].startswith(f"{outage.day} {outage:%b %Y}\nMajor outage\n")
    assert [css for css, _title in _bars(chart)].index("major_outage") == 84


def _day(day: date, status: str | None, *, quiet: bool = True) -> UptimeBar:
    return UptimeBar(day=day, status=status, x=day.day, title=f"{day:%d %b}", quiet=quiet)


def test_a_run_of_quiet_days_is_titled_with_its_dates():
    bars = (
        _day(date(2025, 12, 30), None),
        _day(date(2025, 12, 31), None),
        _day(date(2026, 1, 1), S.OPERATIONAL),
        _day(date(2026, 1, 2), S.OPERATIONAL),
        _day(date(2026, 1, 3), S.OPERATIONAL, quiet=False),  # an incident, no downtime
        _day(date(2026, 1, 4), S.OPERATIONAL),
        _day(date(2026, 1, 5), S.DEGRADED_PERFORMANCE, quiet=False),
        _day(date(2026, 1, 6), S.OPERATIONAL),
        _day(date(2026, 2, 9), S.OPERATIONAL),
    )
    assert [(run.mark, run.path, run.title) for run in bar_runs(bars)] == [
        ("n", "M30 1h7", "30\u201331 Dec 2025\nNo data"),
        ("", "M1 1h7", "1\u20132 Jan 2026\nNo downtime"),
        ("", "M3 1h3", "03 Jan"),
        ("", "M4 1h3", "4 Jan 2026\nNo downtime"),
        ("d", "M5 1h3", "05 Jan"),
        ("", "M6 1h7", "6 Jan \u2013 9 Feb 2026\nNo downtime"),
    ]
    across = (_day(date(2025, 12, 31), S.OPERATIONAL), _day(date(2026, 1, 1), S.OPERATIONAL))
    assert bar_runs(across)[0].title == "31 Dec 2025 \u2013 1 Jan 2026\nNo downtime"


def test_a_component_without_computed_days_shows_no_data_bars(client):
    service_created(timezone.now() - timedelta(days=3), name="Fresh")
    (chart,) = _charts(client.get(HOME).content.decode()).values()
    bars = _bars(chart)
    assert {css for css, _title in bars} == {"none"}
    assert bars[-1][1].endswith("\nNo data")


def _page_queries(client) -> tuple[int, int]:
    invalidate()
    with CaptureQueriesContext(connection) as context:
        assert client.get(HOME).status_code == 200
    uptime = [q for q in context.captured_queries if "statuspage_uptimeday" in q["sql"]]
    return len(context.captured_queries), len(uptime)


def _component(i: int, now):
    service = service_created(now - timedelta(days=120), name=f"Component {i}")
    history(
        service,
        (now - timedelta(days=i % 80 + 1), S.PARTIAL_OUTAGE),
        (now - timedelta(days=i % 80), S.OPERATIONAL),
    )


def test_page_queries_stay_the_same_for_one_or_fifty_components(client):
    now = timezone.now()
    _component(0, now)
    uptime_refresh(now=now)
    one = _page_queries(client)
    for i in range(1, 50):
        _component(i, now)
    uptime_refresh(now=now)
    fifty = _page_queries(client)
    assert one == fifty
    assert one[1] == 1  # one query reads every component's 90 days
