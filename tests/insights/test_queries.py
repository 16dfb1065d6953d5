"""The dashboard's cost does not grow with the data: the same queries for 1 or 1,000 incidents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from insights.figures import insights_for
from insights.period import Filters, Period
from tests.factories import ServiceFactory

from .bulk import bulk_incidents

pytestmark = pytest.mark.django_db

FIRST = datetime(2025, 5, 5, 8, 0, tzinfo=UTC)
NOW = FIRST + timedelta(days=20)
# Incidents, their services, status moves, postmortems, action items: one query each.
QUERIES = 5


@pytest.fixture
def services(db):
    return [ServiceFactory(name=f"Service {n}", slug=f"service-{n}") for n in range(12)]


@pytest.mark.parametrize("count", [1, 1000])
def test_figures_take_the_same_queries_for_1_or_1000_incidents(
    count, services, django_assert_num_queries
):
    bulk_incidents(count, first_detected=FIRST, services=services)
    period = Period.from_preset("last_30", NOW.date())
    with django_assert_num_queries(QUERIES):
        figures = insights_for(period, Filters(), now=NOW)
    assert figures.incident_count == count
    assert figures.overall.mttr.count == count
    # Acknowledge, assess, mitigate finished; resolve goes on until someone closes it.
    assert [step.minutes.count for step in figures.steps] == [count, count, count, 0]
    assert figures.postmortems.due == count
    assert figures.action_items.total == count


@pytest.mark.parametrize("fmt", ["page", "csv", "api"])
def test_page_csv_and_api_queries_do_not_grow_with_incidents(fmt, services, viewer, client):
    client.force_login(viewer)
    url = reverse("api-insights") if fmt == "api" else reverse("insights:dashboard")
    query = {"service": "service-1", "severity": ["P0", "P1"]}
    if fmt == "csv":
        query["format"] = "csv"
    counts = []
    for count in (1, 999):
        bulk_incidents(count, first_detected=FIRST + timedelta(days=len(counts)), services=services)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, query)
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert counts[1] <= QUERIES + 8  # session, user, permissions, the service filter, its options
