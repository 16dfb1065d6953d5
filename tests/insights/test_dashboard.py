"""The insights page, its CSV export and /api/v1/insights/: who may see them, that they show
the same figures, and that bad filters answer 400."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.urls import reverse

from incidents.services import incident_declare
from insights.serializers import InsightsSerializer
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "viewer", "responder", "commander", "admin"]
PAGE = reverse("insights:dashboard")
API = reverse("api-insights")
FIXED = {"from": "2025-03-17", "to": "2025-04-06"}  # the fixed history's period


def _as(client, user):
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("persona", "status"),
    [("anonymous", 302), ("viewer", 200), ("responder", 200), ("commander", 200), ("admin", 200)],
    indirect=["persona"],
)
def test_every_role_reads_the_dashboard(persona, status, client):
    response = _as(client, persona).get(PAGE)
    assert response.status_code == status
    if persona is None:
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("persona", "status"),
    [("anonymous", 302), ("viewer", 200), ("responder", 200), ("commander", 200), ("admin", 200)],
    indirect=["persona"],
)
def test_every_role_downloads_the_csv(persona, status, client):
    response = _as(client, persona).get(PAGE, {"format": "csv"})
    assert response.status_code == status


@pytest.mark.parametrize(
    ("persona", "status"),
    [("anonymous", 401), ("viewer", 200), ("responder", 200), ("commander", 200), ("admin", 200)],
    indirect=["persona"],
)
def test_every_role_reads_the_api(persona, status, api_as):
    assert api_as(persona).get(API).status_code == status


def test_the_nav_links_the_dashboard(viewer, client):
    response = _as(client, viewer).get(PAGE)
    assert b'<a href="/insights/" aria-current="page">Insights</a>' in response.content


def test_page_shows_charts_and_tables_of_the_fixed_history(history, viewer, client):
    response = _as(client, viewer).get(PAGE, FIXED)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('role="img"') == 6  # weekly, MTTA, MTTR, steps, two top-services
    assert "17 Mar 2025 – 06 Apr 2025" in html
    assert "Europe/Berlin" in html
    figures = response.context["insights"]
    assert figures.incident_count == 7
    assert [week.total for week in figures.weeks] == [1, 3, 3]
    # The tables carry the numbers: e.g. Payments' 30,180 downtime minutes.
    assert "30180.0" in html
    assert 'href="?from=2025-03-17&amp;to=2025-04-06&amp;format=csv"' in html


def test_api_returns_the_figures_the_page_shows(history, viewer, client, api_as):
    query = {**FIXED, "severity": ["P0", "P1", "P2"], "service": "search"}
    page = _as(client, viewer).get(PAGE, query)
    api = api_as(viewer).get(API, query)
    assert api.status_code == 200
    shown = json.loads(json.dumps(InsightsSerializer(page.context["insights"]).data))
    body = api.json()
    shown.pop("generated_at"), body.pop("generated_at")
    assert body == shown
    assert body["filters"] == {"severities": ["P0", "P1", "P2"], "service": "search"}
    assert body["period"] == {
        "start": "2025-03-17",
        "end": "2025-04-06",
        "days": 21,
        "preset": None,
    }
    # D and C (E is P3): incidents 2; downtime F 30 + D 45 + C 400.
    assert body["top_by_incidents"] == [
        {"slug": "search", "name": "Search", "incidents": 2, "downtime_minutes": 475.0}
    ]


def test_api_figures_match_the_hand_computed_ones(history, viewer, api_as):
    body = api_as(viewer).get(API, FIXED).json()
    overall = body["response_times"][-1]
    assert overall["severity"] == "all"
    assert overall["mtta"] == {"count": 6, "median": 6.0, "p90": 30.0}
    assert overall["mttr"] == {"count": 4, "median": 90.0, "p90": 400.0}
    assert overall["mttr_median_change"] == -110.0
    assert body["weeks"][1] == {
        "week_start": "2025-03-24",
        "by_severity": {"P0": 0, "P1": 2, "P2": 1, "P3": 0},
        "total": 3,
    }
    assert body["postmortems"]["on_time_percent"] == 60.0
    assert body["time_zone"] == "Europe/Berlin"


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_csv_has_one_row_per_figure(history, viewer, client):
    response = _as(client, viewer).get(PAGE, {**FIXED, "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        response["Content-Disposition"]
        == 'attachment; filename="insights-2025-03-17-to-2025-04-06.csv"'
    )
    rows = _csv(response)
    assert rows[0] == ["section", "item", "metric", "value"]
    for row in (
        ["period", "current", "start", "2025-03-17"],
        ["period", "previous", "end", "2025-03-16"],
        ["incidents", "total", "count", "7"],
        ["incidents_per_week", "2025-03-24", "P1", "2"],
        ["incidents_per_week", "2025-03-31", "total", "3"],
        ["response_times", "P1", "mtta_median_minutes", "10.0"],
        ["response_times", "all", "mttr_p90_minutes", "400.0"],
        ["response_times", "P3", "mtta_median_minutes", ""],
        ["playbook_steps", "assess", "median_minutes", "35.0"],
        ["top_services_incidents", "Payments", "incidents", "3"],
        ["top_services_downtime", "Payments", "downtime_minutes", "30180.0"],
        ["postmortems", "on_time", "percent", "60.0"],
        ["action_items", "total", "count", "5"],
    ):
        assert row in rows
    assert {len(row) for row in rows} == {4}


def test_csv_defuses_spreadsheet_formulas_in_service_names(viewer, client, commander):
    evil = ServiceFactory(name='=HYPERLINK("http://evil.example")', slug="evil")
    incident_declare(title="x", severity="P3", by=commander, services=[evil])
    rows = _csv(_as(client, viewer).get(PAGE, {"format": "csv", "period": "last_30"}))
    assert ["top_services_incidents", "'" + evil.name, "incidents", "1"] in rows


def test_page_and_svg_escape_service_names(viewer, client, commander):
    evil = ServiceFactory(name="<img src=x onerror=alert(1)>", slug="evil")
    incident_declare(title="x", severity="P3", by=commander, services=[evil])
    html = _as(client, viewer).get(PAGE).content.decode()
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"period": "last_7"}, "period"),
        ({"severity": "P9"}, "severity"),
        ({"service": "no-such-service"}, "service"),
        ({"from": "2025-13-01", "to": "2025-12-31"}, "from"),
        ({"from": "2025-03-17"}, "non_field_errors"),
        ({"period": "custom", "to": "2025-03-17"}, "non_field_errors"),
        ({"from": "2025-04-06", "to": "2025-03-17"}, "non_field_errors"),
        ({"from": "2020-01-01", "to": "2025-01-01"}, "non_field_errors"),
        ({"from": "0001-01-01", "to": "0001-01-02"}, "non_field_errors"),
    ],
)
def test_bad_filters_answer_400(query, field, viewer, client, api_as):
    api = api_as(viewer).get(API, query)
    assert api.status_code == 400
    body = api.json()
    assert body["type"] == "validation_error"
    assert field in body["errors"]
    page = _as(client, viewer).get(PAGE, query)
    assert page.status_code == 400
    assert b'class="form-errors"' in page.content
    assert _as(client, viewer).get(PAGE, {**query, "format": "csv"}).status_code == 400


def test_a_preset_ignores_leftover_dates(viewer, client):
    response = _as(client, viewer).get(PAGE, {"period": "last_30", "from": "2025-01-01"})
    assert response.status_code == 200
    assert response.context["insights"].period.preset == "last_30"
    assert response.context["insights"].period.days == 30


def test_default_period_is_the_last_90_days(viewer, api_as):
    body = api_as(viewer).get(API).json()
    assert body["period"]["preset"] == "last_90"
    assert body["period"]["days"] == 90
    assert body["previous_period"]["days"] == 90
