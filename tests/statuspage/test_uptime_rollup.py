"""Daily uptime rollups from a status history: colours, minutes, downtime, uptime %, local days."""

from __future__ import annotations

from datetime import date

import pytest

from catalog.models import ComponentStatus as S
from statuspage.models import UptimeDay
from statuspage.uptime import uptime_refresh
from tests.statuspage.uptime_support import (
    bars_by_day,
    history,
    local,
    service_created,
    uptime_percent_of,
)

pytestmark = pytest.mark.django_db


def utc(*args):
    return local("UTC", *args)


def rows(service) -> dict[date, tuple]:
    return {
        row.day: (row.worst_status, row.minutes, row.downtime_minutes)
        for row in UptimeDay.objects.filter(service=service)
    }


@pytest.fixture
def in_utc(settings):
    settings.TIME_ZONE = "UTC"


@pytest.fixture
def in_berlin(settings):
    settings.TIME_ZONE = "Europe/Berlin"


def test_a_fixed_history_gives_exact_days_colours_and_uptime(in_utc):
    now = utc(2026, 5, 10, 12, 0)
    service = service_created(utc(2026, 5, 5, 6, 0))
    history(
        service,
        (utc(2026, 5, 6, 10, 0), S.DEGRADED_PERFORMANCE),
        (utc(2026, 5, 6, 11, 0), S.OPERATIONAL),
        (utc(2026, 5, 7, 22, 0), S.MAJOR_OUTAGE),
        (utc(2026, 5, 8, 1, 30), S.PARTIAL_OUTAGE),
        (utc(2026, 5, 8, 3, 30), S.OPERATIONAL),
        (utc(2026, 5, 9, 8, 0), S.UNDER_MAINTENANCE),
        (utc(2026, 5, 9, 10, 0), S.OPERATIONAL),
    )

    assert uptime_refresh(now=now) == 6

    assert rows(service) == {
        date(2026, 5, 5): ("operational", {}, 0),
        date(2026, 5, 6): ("degraded_performance", {"degraded_performance": 60}, 0),
        date(2026, 5, 7): ("major_outage", {"major_outage": 120}, 120),
        # A partial outage weighs 30 %: 90 + 0.3 * 120.
        date(2026, 5, 8): ("major_outage", {"major_outage": 90, "partial_outage": 120}, 126),
        # Maintenance is not downtime.
        date(2026, 5, 9): ("under_maintenance", {"under_maintenance": 120}, 0),
        date(2026, 5, 10): ("operational", {}, 0),
    }
    bars = bars_by_day(service, now=now)
    assert len(bars) == 90
    assert min(bars) == date(2026, 2, 10) and max(bars) == date(2026, 5, 10)
    colours = {day: css for day, (css, _title) in bars.items()}
    assert colours[date(2026, 5, 4)] == "none"  # before the component existed: no data
    assert [colours[date(2026, 5, d)] for d in range(5, 11)] == [
        "operational",
        "degraded_performance",
        "major_outage",
        "major_outage",
        "under_maintenance",
        "operational",
    ]
    assert sum(css == "none" for css in colours.values()) == 84
    assert bars[date(2026, 5, 8)][1] == (
        "8 May 2026\nMajor outage\nMajor outage 90 min, Partial outage 120 min\nDowntime 126 min"
    )
    assert bars[date(2026, 5, 4)][1] == "4 May 2026\nNo data"
    assert bars[date(2026, 5, 10)][1] == "10 May 2026\nNo downtime"  # a quiet day: short
    # Minutes with data: 18 h on the first day, 4 full days, 12 h today = 7,560 minutes;
    # 1 - 246 / 7560 = 96.746… → rounded down.
    assert uptime_percent_of(service, now=now) == "96.74%"


def test_a_component_without_downtime_reads_100_percent(in_utc):
    now = utc(2026, 5, 10, 12, 0)
    service = service_created(utc(2026, 1, 1))
    history(service, (utc(2026, 5, 9, 8, 0), S.DEGRADED_PERFORMANCE))
    uptime_refresh(now=now)
    assert uptime_percent_of(service, now=now) == "100%"
    assert rows(service)[date(2026, 5, 10)] == (
        "degraded_performance",
        {"degraded_performance": 720},
        0,
    )


def test_one_minute_of_downtime_never_rounds_up_to_100_percent(in_utc):
    now = utc(2026, 5, 10, 12, 0)
    service = service_created(utc(2026, 1, 1))
    history(
        service, (utc(2026, 5, 1, 8, 0), S.MAJOR_OUTAGE), (utc(2026, 5, 1, 8, 1), S.OPERATIONAL)
    )
    uptime_refresh(now=now)
    assert uptime_percent_of(service, now=now) == "99.99%"


def test_a_change_at_23_59_local_counts_one_minute_that_day_and_the_rest_the_next(in_berlin):
    zone = "Europe/Berlin"
    now = local(zone, 2026, 6, 12, 9, 0)
    service = service_created(local(zone, 2026, 6, 1))
    history(
        service,
        (local(zone, 2026, 6, 10, 23, 59), S.MAJOR_OUTAGE),  # 21:59 UTC
        (local(zone, 2026, 6, 11, 0, 30), S.OPERATIONAL),
    )
    uptime_refresh(now=now)
    assert rows(service)[date(2026, 6, 10)] == ("major_outage", {"major_outage": 1}, 1)
    assert rows(service)[date(2026, 6, 11)] == ("major_outage", {"major_outage": 30}, 30)
    assert rows(service)[date(2026, 6, 9)] == ("operational", {}, 0)


def test_the_spring_dst_day_has_23_hours_and_the_autumn_one_25(in_berlin):
    zone = "Europe/Berlin"
    now = local(zone, 2026, 10, 27, 12, 0)
    spring = service_created(local(zone, 2026, 3, 1))
    history(
        spring,
        (local(zone, 2026, 3, 29), S.MAJOR_OUTAGE),
        (local(zone, 2026, 3, 30), S.OPERATIONAL),
    )
    short_night = service_created(local(zone, 2026, 3, 1))
    history(
        short_night,
        # 01:30 → 03:30 local across the skipped hour is one real hour.
        (local(zone, 2026, 3, 29, 1, 30), S.PARTIAL_OUTAGE),
        (local(zone, 2026, 3, 29, 3, 30), S.OPERATIONAL),
    )
    autumn = service_created(local(zone, 2026, 9, 1))
    history(
        autumn,
        (local(zone, 2026, 10, 25), S.MAJOR_OUTAGE),
        (local(zone, 2026, 10, 26), S.OPERATIONAL),
    )
    # The spring days are outside this run's 90-day window: compute them as of early April.
    uptime_refresh(now=local(zone, 2026, 4, 2, 12, 0))
    uptime_refresh(now=now)

    assert rows(spring)[date(2026, 3, 28)] == ("operational", {}, 0)
    assert rows(spring)[date(2026, 3, 29)] == ("major_outage", {"major_outage": 1380}, 1380)
    assert rows(spring)[date(2026, 3, 30)] == ("operational", {}, 0)
    assert rows(short_night)[date(2026, 3, 29)] == (
        "partial_outage",
        {"partial_outage": 60},
        18,
    )
    assert rows(autumn)[date(2026, 10, 25)] == ("major_outage", {"major_outage": 1500}, 1500)
    assert rows(autumn)[date(2026, 10, 26)] == ("operational", {}, 0)
    # 1500 of (25 + 24 * 55 + 12 h today) minutes down: the 25-hour day counts in full.
    with_data = (25 + 24 * 55 + 12) * 60
    expected = f"{int((1 - 1500 / with_data) * 10000) / 100:.2f}%"
    assert uptime_percent_of(autumn, now=now) == expected


def test_renaming_a_component_keeps_its_bars(in_utc):
    now = utc(2026, 5, 10, 12, 0)
    service = service_created(utc(2026, 4, 1), name="Checkout", component_name="Checkout")
    history(
        service, (utc(2026, 5, 3, 9, 0), S.MAJOR_OUTAGE), (utc(2026, 5, 3, 10, 0), S.OPERATIONAL)
    )
    uptime_refresh(now=now)
    before = bars_by_day(service, now=now)

    service.name = "Checkout API"
    service.component_name = "Payments checkout"
    service.save()
    uptime_refresh(now=now)

    assert bars_by_day(service, now=now) == before
    assert before[date(2026, 5, 3)][0] == "major_outage"


def test_history_before_the_first_change_is_taken_from_its_previous_status(in_utc):
    """A component non-operational before history began: its first recorded change says
    what it was."""
    now = utc(2026, 5, 10, 12, 0)
    service = service_created(utc(2026, 5, 8), status=S.PARTIAL_OUTAGE)
    history(service, (utc(2026, 5, 9, 6, 0), S.OPERATIONAL))
    uptime_refresh(now=now)
    assert rows(service)[date(2026, 5, 8)] == ("partial_outage", {"partial_outage": 1440}, 432)
    assert rows(service)[date(2026, 5, 9)] == ("partial_outage", {"partial_outage": 360}, 108)
