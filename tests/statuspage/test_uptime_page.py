"""The 90-day bars on /status/: server-rendered SVG, one bar per day with its tooltip, the
uptime %, read in one query whatever the number of components."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import ComponentStatus as S
from statuspage.cache import invalidate
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


def _bars(chart: ET.Element) -> list[tuple[str, str]]:
    return [
        (rect.get("class").removeprefix("sp-bar sp-bar-"), rect.find(f"{SVG}title").text)
        for rect in chart.iter(f"{SVG}rect")
    ]


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
