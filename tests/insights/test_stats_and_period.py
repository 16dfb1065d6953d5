"""Nearest-rank percentiles, and periods of local days across DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from insights.period import Filters, Period, local_date, week_start
from insights.stats import Spread, percentile

from .history import ZONE


def test_nearest_rank_on_an_odd_count():
    values = [30, 10, 20, 50, 40]  # sorted: 10 20 30 40 50
    # median: rank ceil(0.5 * 5) = 3 → 30; p90: rank ceil(0.9 * 5) = ceil(4.5) = 5 → 50.
    assert percentile(values, 50) == 30
    assert percentile(values, 90) == 50


def test_nearest_rank_on_an_even_count_takes_the_lower_middle():
    values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    # median: rank ceil(6) = 6 → 6 (not 6.5); p90: rank ceil(10.8) = 11 → 11.
    assert percentile(values, 50) == 6
    assert percentile(values, 90) == 11
    # Exactly on a rank: 10 values, p90 = rank 9.
    assert percentile(range(1, 11), 90) == 9


def test_percentile_of_nothing_and_of_one_value():
    assert percentile([], 50) is None
    assert percentile([7.5], 90) == 7.5
    with pytest.raises(ValueError):
        percentile([1], 0)


def test_spread_rounds_to_a_tenth_of_a_minute():
    assert Spread.of([1.04, 2.26, 9.99]) == Spread(3, 2.3, 10.0)
    assert Spread.of([]) == Spread(0, None, None)


def test_presets_end_today_and_this_quarter_starts_on_its_first_day():
    today = date(2025, 5, 14)
    assert Period.from_preset("last_30", today) == Period(date(2025, 4, 15), today, "last_30")
    assert Period.from_preset("last_90", today).start == date(2025, 2, 14)
    quarter = Period.from_preset("this_quarter", today)
    assert (quarter.start, quarter.end, quarter.days) == (date(2025, 4, 1), today, 44)
    # The trend compares with the 44 days before the quarter, not the whole previous quarter.
    assert quarter.previous() == Period(date(2025, 2, 16), date(2025, 3, 31))


def test_period_bounds_are_local_midnights_across_the_autumn_change(settings):
    settings.BUSINESS_TIME_ZONE = ZONE
    # Clocks go back on Sunday 26 Oct 2025: that day has 25 hours.
    start, end = Period(date(2025, 10, 26), date(2025, 10, 26)).bounds()
    assert start == datetime(2025, 10, 25, 22, 0, tzinfo=UTC)  # 00:00 CEST
    assert end == datetime(2025, 10, 26, 23, 0, tzinfo=UTC)  # 00:00 CET
    assert (end - start).total_seconds() == 25 * 3600


def test_weeks_start_on_monday_in_the_business_time_zone(settings):
    settings.BUSINESS_TIME_ZONE = ZONE
    # Sunday 26 Oct 23:30 UTC is Monday 27 Oct 00:30 CET.
    assert week_start(local_date(datetime(2025, 10, 26, 23, 30, tzinfo=UTC))) == date(2025, 10, 27)
    assert week_start(local_date(datetime(2025, 10, 26, 22, 30, tzinfo=UTC))) == date(2025, 10, 20)
    period = Period(date(2025, 10, 22), date(2025, 11, 3))
    assert period.weeks() == [date(2025, 10, 20), date(2025, 10, 27), date(2025, 11, 3)]


def test_filters_show_severities_in_policy_order():
    assert Filters().shown_severities == ("P0", "P1", "P2", "P3")
    assert Filters(severities=("P3", "P1")).shown_severities == ("P1", "P3")


def test_a_period_cannot_end_before_it_starts():
    with pytest.raises(ValueError):
        Period(date(2025, 1, 2), date(2025, 1, 1))
