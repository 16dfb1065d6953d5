"""Insights figures on the fixed history (tests/insights/history.py), against values computed
by hand in the comments; and the query count, which must not grow with the incidents."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from insights.figures import ALL, insights_for
from insights.period import Filters, Period
from insights.stats import Spread
from postmortems.services import postmortem_create

from .history import NOW, PERIOD, RES, incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def figures(history):
    return insights_for(PERIOD, Filters(), now=NOW)


def _by_severity(figures):
    return {row.severity: row for row in figures.response_times}


def test_period_and_its_previous_period(figures):
    assert figures.period == PERIOD
    # 21 days, so the previous period is the 21 days before: 24 Feb to 16 Mar.
    assert figures.previous_period == Period(date(2025, 2, 24), date(2025, 3, 16))
    # A, D, I, B, C, G, E were detected in the period; F, X, J, Y, H were not.
    assert figures.incident_count == 7


def test_weeks_bucket_by_the_local_date_across_the_dst_change(figures):
    weeks = {week.week_start: week.by_severity for week in figures.weeks}
    assert list(weeks) == [date(2025, 3, 17), date(2025, 3, 24), date(2025, 3, 31)]
    # 17 Mar: D (P1). A (Sun 23 Mar 23:30 UTC = Mon 00:30 CET) is not here.
    assert weeks[date(2025, 3, 17)] == {"P0": 0, "P1": 1, "P2": 0, "P3": 0}
    # 24 Mar: A and I (P1), C (P2, Sun 30 Mar 23:30 CEST: still Sunday in Berlin).
    assert weeks[date(2025, 3, 24)] == {"P0": 0, "P1": 2, "P2": 1, "P3": 0}
    # 31 Mar: B (P0, Sun 30 Mar 22:30 UTC = Mon 00:30 CEST: after the change, a fixed +01:00
    # offset would put it on Sunday), G (P2, the period's last hour), E (P3).
    assert weeks[date(2025, 3, 31)] == {"P0": 1, "P1": 0, "P2": 1, "P3": 1}
    assert [week.total for week in figures.weeks] == [1, 3, 3]


def test_mtta_and_mttr_per_severity_by_nearest_rank(figures):
    rows = _by_severity(figures)
    # P0: B acknowledged after 2, resolved after 90.
    assert rows["P0"].mtta == Spread(1, 2.0, 2.0)
    assert rows["P0"].mttr == Spread(1, 90.0, 90.0)
    # P1 MTTA [4, 10, 30] (odd n=3): median rank ceil(1.5)=2 → 10; p90 rank ceil(2.7)=3 → 30.
    assert rows["P1"].mtta == Spread(3, 10.0, 30.0)
    # P1 MTTR [45, 120] (I is still open): median rank ceil(1.0)=1 → 45; p90 rank 2 → 120.
    assert rows["P1"].mttr == Spread(2, 45.0, 120.0)
    # P2 MTTA [6, 20] (even n=2): median rank 1 → 6 (the lower middle, not 13); p90 → 20.
    assert rows["P2"].mtta == Spread(2, 6.0, 20.0)
    # P2 MTTR: C, resolved for good after 400 (reopened at 360).
    assert rows["P2"].mttr == Spread(1, 400.0, 400.0)
    # P3: E is still triggered.
    assert rows["P3"].mtta == Spread(0, None, None)
    assert rows["P3"].mttr == Spread(0, None, None)
    # All MTTA [2, 4, 6, 10, 20, 30] (n=6): median rank 3 → 6; p90 rank ceil(5.4)=6 → 30.
    assert rows[ALL].mtta == Spread(6, 6.0, 30.0)
    # All MTTR [45, 90, 120, 400] (n=4): median rank 2 → 90; p90 rank ceil(3.6)=4 → 400.
    assert rows[ALL].mttr == Spread(4, 90.0, 400.0)
    assert figures.overall is rows[ALL]


def test_trend_compares_with_the_previous_period(figures):
    rows = _by_severity(figures)
    # Previous period: F (P1: 8 / 60), J (P1: 12 / 200), X (P0: 10 / 300).
    assert rows["P1"].previous_mtta == Spread(2, 8.0, 12.0)
    assert rows["P1"].previous_mttr == Spread(2, 60.0, 200.0)
    assert rows["P0"].previous_mttr == Spread(1, 300.0, 300.0)
    # All: MTTA [8, 10, 12] → 10 / 12; MTTR [60, 200, 300] → 200 / 300.
    assert rows[ALL].previous_mtta == Spread(3, 10.0, 12.0)
    assert rows[ALL].previous_mttr == Spread(3, 200.0, 300.0)
    # Change of the median: P1 MTTA 10 - 8 = +2, MTTR 45 - 60 = -15; All 6 - 10, 90 - 200.
    assert rows["P1"].mtta_median_change == 2.0
    assert rows["P1"].mttr_median_change == -15.0
    assert rows[ALL].mtta_median_change == -4.0
    assert rows[ALL].mttr_median_change == -110.0
    assert rows["P3"].mtta_median_change is None  # nothing to compare


def test_time_in_each_playbook_step(figures):
    steps = {step.step: step.minutes for step in figures.steps}
    assert list(steps) == ["acknowledge", "assess", "mitigate", "resolve"]
    # Acknowledge (time triggered): A 4, D 10, I 30, B 2, C 6, G 20 → [2,4,6,10,20,30].
    assert steps["acknowledge"] == Spread(6, 6.0, 30.0)
    # Assess (acknowledged + investigating): A 6+30=36, D 35, I 10+60=70, B 18,
    # C 0+54+50+40=144 (three visits, one after reopening), G 5 → [5,18,35,36,70,144].
    assert steps["assess"] == Spread(6, 35.0, 144.0)
    # Mitigate: A 80, B 70, C 40+150=190 (I is still mitigating) → [70,80,190].
    assert steps["mitigate"] == Spread(3, 80.0, 190.0)
    # Resolve (resolved until closed/reopened): A 60, B 10, C 60 (D and C's last stay are
    # not over) → [10,60,60].
    assert steps["resolve"] == Spread(3, 60.0, 60.0)


def test_downtime_is_clipped_to_the_period_and_overlaps_count_once(figures):
    downtime = {f.slug: f.downtime_minutes for f in figures.top_by_downtime}
    # Payments: Y (P1, open since 1 Feb) covers the whole period, 21 days minus the DST hour
    # = 30,180 minutes; A, B and I lie inside it and add nothing.
    # Search: F 30 (23:00 → 23:30 at the start) + D 45 + C 400 (P2, customer-facing)
    # + E 6,600 (P3, customer-facing, open: 2 Apr 08:00 → period end 6 Apr 22:00) = 7,075.
    # Checkout: X 120 (clipped at the start: 23:00 → 01:00) + B 90; G (P2, internal) and
    # H (after the period) add nothing = 210.
    assert downtime == {"payments": 30180.0, "search": 7075.0, "checkout": 210.0}
    assert [f.slug for f in figures.top_by_downtime] == ["payments", "search", "checkout"]


def test_top_services_by_incidents(figures):
    # Payments: A, I, B; Search: D, C, E; Checkout: B, G. Ties by name.
    assert [(f.slug, f.incidents) for f in figures.top_by_incidents] == [
        ("payments", 3),
        ("search", 3),
        ("checkout", 2),
    ]


def test_postmortems_on_time(figures):
    postmortems = figures.postmortems
    # A, C, F on time (C published exactly at its due time), B late, D never published;
    # X is not required → 3 of 5 = 60 %.
    assert (postmortems.due, postmortems.on_time, postmortems.late) == (5, 3, 1)
    assert (postmortems.overdue, postmortems.pending) == (1, 0)
    assert postmortems.on_time_percent == 60.0


def test_action_items_of_the_periods_incidents(figures):
    items = figures.action_items
    # A: open (due 5 Apr, overdue on 10 Apr) + done; B: in progress (due 20 Apr) + won't do;
    # D: open without a due date. F's overdue item belongs to the previous period.
    assert (items.total, items.open, items.overdue, items.done, items.wont_do) == (5, 3, 1, 1, 1)


def test_severity_filter(history):
    figures = insights_for(PERIOD, Filters(severities=("P1",)), now=NOW)
    assert figures.severities == ("P1",)
    assert [week.by_severity for week in figures.weeks] == [{"P1": 1}, {"P1": 2}, {"P1": 0}]
    assert [row.severity for row in figures.response_times] == ["P1", ALL]
    # Payments: Y alone already covers the period. Search: F 30 + D 45 (C and E are not P1).
    downtime = {f.slug: f.downtime_minutes for f in figures.top_by_downtime}
    assert downtime == {"payments": 30180.0, "search": 75.0}
    # A (on time), D (overdue), F (on time).
    assert (figures.postmortems.due, figures.postmortems.on_time) == (3, 2)


def test_service_filter_shows_only_that_service(history):
    search = history.services["search"]
    figures = insights_for(PERIOD, Filters(service=search), now=NOW)
    # D, C, E.
    assert figures.incident_count == 3
    assert [(f.slug, f.incidents, f.downtime_minutes) for f in figures.top_by_incidents] == [
        ("search", 3, 7075.0)
    ]
    # B affects payments and checkout too, but it is not a search incident.
    assert [f.slug for f in figures.top_by_downtime] == ["search"]


def test_open_incidents_count_downtime_until_now_when_the_period_is_not_over(history):
    # On 2 Apr 10:00 UTC, E (open since 08:00) has been down 120 minutes, not until 6 Apr.
    now = history.incidents["E"].detected_at.replace(hour=10)
    figures = insights_for(PERIOD, Filters(severities=("P3",)), now=now)
    assert [(f.slug, f.downtime_minutes) for f in figures.top_by_downtime] == [("search", 120.0)]


def test_postmortems_not_due_yet_are_pending(history, commander):
    # K, resolved an hour before NOW (10 Apr 12:00): its postmortem is due 12 Apr 11:00.
    k = incident(commander, [], "K", "P1", NOW - timedelta(hours=2), [(60, RES)])
    postmortem_create(incident=k, required=True, now=k.resolved_at)
    april = Period(date(2025, 4, 1), date(2025, 4, 30))
    postmortems = insights_for(april, Filters(), now=NOW).postmortems
    # Due in April: B (late), C (on time), K (not due yet).
    assert (postmortems.due, postmortems.on_time, postmortems.late) == (3, 1, 1)
    assert (postmortems.overdue, postmortems.pending) == (0, 1)
    # Over the decided ones only: 1 of 2.
    assert postmortems.on_time_percent == 50.0
