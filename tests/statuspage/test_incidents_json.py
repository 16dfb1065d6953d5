"""Public incidents in the Statuspage v2 JSON: every body against the reference's JSON Schema, an
incident's public life (absent until its first public update, resolved → out of unresolved),
impact, ids, timestamps, ordering, the indicator with incidents, and the public/internal line."""

from __future__ import annotations

from datetime import datetime, timedelta

import jsonschema
import pytest
from django.urls import reverse

from catalog.models import ComponentStatus
from catalog.services import service_set_status
from incidents.services import incident_update
from maintenance.models import WindowState
from tests.factories import ServiceFactory, ServiceGroupFactory
from tests.statuspage.incident_support import MINUTE, T0, declare, note, publish
from tests.statuspage.support import announce, make_window, move
from tests.statuspage.v2_schema import ALL_V2_PATHS, validate

pytestmark = pytest.mark.django_db

INCIDENT_PATHS = [
    "/api/v2/summary.json",
    "/api/v2/incidents.json",
    "/api/v2/incidents/unresolved.json",
]


def get_json(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    validate(path, body)
    return body


def incidents(client, path="/api/v2/incidents.json"):
    return get_json(client, path)["incidents"]


def names(client, path="/api/v2/incidents.json"):
    return [i["name"] for i in incidents(client, path)]


@pytest.fixture
def catalog():
    core = ServiceGroupFactory(name="Core", position=1)
    return {
        "api": ServiceFactory(name="API", group=core, position=1),
        "db": ServiceFactory(name="Orders DB", group=core, position=2),
        "mail": ServiceFactory(name="Mail", group=None),
        "hidden": ServiceFactory(name="Internal queue", group=core, show_on_status_page=False),
    }


# --- Schema -----------------------------------------------------------------------------------


@pytest.fixture
def busy_page(catalog):
    """A page with something in every list: open and resolved incidents, maintenance of each
    kind, a degraded component."""
    open_one = declare(title="Checkout errors", severity="P1", services=[catalog["api"]])
    publish(open_one, "We are investigating.", now=T0, component_status="partial_outage")
    publish(open_one, "Cause found.", status="identified", now=T0 + MINUTE)
    done = declare(title="Slow search", severity="P2", services=[catalog["db"], catalog["hidden"]])
    publish(done, "Slow.", now=T0 - 60 * MINUTE)
    publish(done, "Fixed.", status="monitoring", now=T0 - 50 * MINUTE)
    publish(done, "Resolved.", status="resolved", now=T0 - 40 * MINUTE)
    running = make_window([catalog["db"]], title="Upgrade")
    announce(running, "Planned.")
    move(running, WindowState.IN_PROGRESS)
    announce(make_window([catalog["mail"]], title="Later"), "Planned.")
    past = make_window([catalog["mail"]], title="Past")
    move(past, WindowState.IN_PROGRESS)
    move(past, WindowState.COMPLETED)
    service_set_status(service=catalog["mail"], status=ComponentStatus.DEGRADED_PERFORMANCE)


@pytest.mark.parametrize("path", ALL_V2_PATHS)
def test_every_endpoint_matches_the_reference_schema(client, busy_page, path):
    body = get_json(client, path)  # validates
    lists = [value for value in body.values() if isinstance(value, list)]
    assert all(lists), f"{path}: the fixture should fill every list"


def test_the_schema_rejects_what_the_reference_does_not_allow():
    body = {
        "page": {
            "id": "p",
            "name": "n",
            "url": "https://x",
            "time_zone": "UTC",
            "updated_at": None,
        },
        "status": {"indicator": "none", "description": "All Systems Operational"},
    }
    validate("/api/v2/status.json", body)
    for broken in (
        {**body, "extra": 1},
        {**body, "status": {"indicator": "bad", "description": "All Systems Operational"}},
        {**body, "page": {**body["page"], "updated_at": "2025-03-14 09:00"}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            validate("/api/v2/status.json", broken)


# --- An incident's public life ----------------------------------------------------------------


def test_a_declared_incident_stays_off_the_page_until_its_first_public_update(client, catalog):
    incident = declare(
        title="Internal: db01 disk full",
        public_title="Orders are delayed",
        severity="P1",
        services=[catalog["db"]],
    )
    note(incident, "Looking at db01.")
    for path in INCIDENT_PATHS:
        assert get_json(client, path)["incidents"] == []
    assert get_json(client, "/api/v2/status.json")["status"]["indicator"] == "none"
    page = reverse("statuspage:incident", args=[incident.number])
    assert client.get(page).status_code == 404

    publish(incident, "Orders are **delayed**; we are on it.", now=T0 + 5 * MINUTE)
    for path in INCIDENT_PATHS:
        [item] = get_json(client, path)["incidents"]
        assert item["id"] == f"INC-{incident.number}"
        assert item["name"] == "Orders are delayed"
        assert item["status"] == "investigating" and item["impact"] == "major"
        assert item["created_at"] == (T0 + 5 * MINUTE).isoformat(timespec="milliseconds")
        assert item["shortlink"].endswith(page)
        assert [u["body"] for u in item["incident_updates"]] == [
            "Orders are **delayed**; we are on it."
        ]
    assert client.get(page).status_code == 200


def test_the_shortlink_is_the_public_base_url_and_the_incident_page(client, settings, catalog):
    settings.PUBLIC_BASE_URL = "https://status.example.com"
    incident = declare(services=[catalog["api"]])
    publish(incident, "Investigating.")
    [item] = incidents(client)
    assert (
        item["shortlink"] == f"https://status.example.com/status/incidents/INC-{incident.number}/"
    )


def test_status_and_timestamps_follow_the_public_updates(client, catalog):
    incident = declare(severity="P0", services=[catalog["api"]])
    steps = [
        ("investigating", "Investigating."),
        ("identified", "Found it."),
        ("monitoring", "Fix deployed."),
        ("resolved", "All good."),
    ]
    stamp = {}
    for minute, (status, body) in enumerate(steps):
        stamp[status] = T0 + minute * 10 * MINUTE
        publish(incident, body, status=status, now=stamp[status])
        [item] = incidents(client)
        assert item["status"] == status
        assert item["updated_at"] == stamp[status].isoformat(timespec="milliseconds")

    def iso(moment):
        return moment.isoformat(timespec="milliseconds")

    assert item["created_at"] == item["started_at"] == iso(stamp["investigating"])
    assert item["monitoring_at"] == iso(stamp["monitoring"])
    assert item["resolved_at"] == iso(stamp["resolved"])
    number = incident.number
    # Newest first; ids count public updates only (internal events take no number).
    assert [(u["id"], u["status"]) for u in item["incident_updates"]] == [
        (f"INC-{number}-4", "resolved"),
        (f"INC-{number}-3", "monitoring"),
        (f"INC-{number}-2", "identified"),
        (f"INC-{number}-1", "investigating"),
    ]
    assert {u["incident_id"] for u in item["incident_updates"]} == {f"INC-{number}"}
    update = item["incident_updates"][0]
    assert update["created_at"] == update["display_at"] == update["updated_at"]


def test_a_resolved_incident_leaves_unresolved_but_stays_in_the_list(client, catalog):
    incident = declare(title="Checkout down", public_title="Checkout down", severity="P0")
    publish(incident, "Down.", now=T0)
    assert names(client, "/api/v2/incidents/unresolved.json") == ["Checkout down"]
    assert get_json(client, "/api/v2/status.json")["status"]["indicator"] == "critical"

    publish(incident, "Back.", status="resolved", now=T0 + 30 * MINUTE)
    assert names(client, "/api/v2/incidents/unresolved.json") == []
    assert get_json(client, "/api/v2/summary.json")["incidents"] == []
    [item] = incidents(client)
    assert item["status"] == "resolved" and item["resolved_at"] is not None
    assert get_json(client, "/api/v2/status.json")["status"]["indicator"] == "none"


def test_a_reopened_incident_is_unresolved_again_without_a_resolved_at(client):
    incident = declare()
    publish(incident, "Down.", now=T0)
    publish(incident, "Back.", status="resolved", now=T0 + MINUTE)
    publish(incident, "It is back again.", status="investigating", now=T0 + 2 * MINUTE)
    [item] = incidents(client, "/api/v2/incidents/unresolved.json")
    assert item["status"] == "investigating" and item["resolved_at"] is None


@pytest.mark.parametrize(
    ("severity", "impact"), [("P0", "critical"), ("P1", "major"), ("P2", "minor"), ("P3", "none")]
)
def test_impact_comes_from_the_severity(client, severity, impact):
    publish(declare(severity=severity), "Investigating.")
    assert incidents(client)[0]["impact"] == impact


def test_the_public_title_is_shown_and_the_title_only_when_there_is_none(client):
    publish(declare(title="db01 OOM killer", public_title="Slow checkout"), "Looking.")
    publish(declare(title="Search is slow"), "Looking.")
    assert sorted(names(client)) == ["Search is slow", "Slow checkout"]


def test_components_and_affected_components_are_the_public_ones(client, catalog):
    incident = declare(services=[catalog["db"], catalog["api"], catalog["hidden"]])
    publish(incident, "Degraded.", component_status="degraded_performance")
    [item] = incidents(client)
    assert [c["name"] for c in item["components"]] == ["API", "Orders DB"]
    assert all(c["status"] == "degraded_performance" for c in item["components"])
    affected = item["incident_updates"][0]["affected_components"]
    assert {(a["code"], a["name"]) for a in affected} == {
        (str(catalog["db"].pk), "Orders DB"),
        (str(catalog["api"].pk), "API"),
    }
    assert all(
        (a["old_status"], a["new_status"]) == ("operational", "degraded_performance")
        for a in affected
    )


# --- Lists ------------------------------------------------------------------------------------


def test_the_list_is_unresolved_first_then_newest_first_up_to_fifty(client):
    old_open = declare(public_title="Old but open")
    publish(old_open, "Still looking.", now=T0 - timedelta(days=30))
    for n in range(52):
        incident = declare(public_title=f"Past {n}")
        publish(incident, "Down.", now=T0 + n * MINUTE)
        publish(incident, "Back.", status="resolved", now=T0 + n * MINUTE + 30 * MINUTE)
    listed = names(client)
    assert len(listed) == 50
    assert listed[0] == "Old but open"
    assert listed[1:4] == ["Past 51", "Past 50", "Past 49"]
    assert "Past 2" not in listed
    created = [datetime.fromisoformat(i["created_at"]) for i in incidents(client)[1:]]
    assert created == sorted(created, reverse=True)


def test_summary_has_unresolved_incidents_and_open_maintenance_only(client, busy_page):
    body = get_json(client, "/api/v2/summary.json")
    assert [i["name"] for i in body["incidents"]] == ["Checkout errors"]
    assert {m["name"] for m in body["scheduled_maintenances"]} == {"Upgrade", "Later"}
    assert body["status"] == {"indicator": "major", "description": "Partial System Outage"}
    assert [c["name"] for c in body["components"]][:3] == ["Core", "API", "Orders DB"]


def test_status_json_is_the_page_and_the_overall_status(client, busy_page):
    body = get_json(client, "/api/v2/status.json")
    assert set(body) == {"page", "status"}
    assert body["status"] == get_json(client, "/api/v2/summary.json")["status"]


# --- The indicator with incidents (docs/statuspage.md) ----------------------------------------


@pytest.mark.parametrize(
    ("component", "maintenance", "incident", "indicator", "description"),
    [
        (None, False, None, "none", "All Systems Operational"),
        (None, False, ("P3", "investigating"), "none", "All Systems Operational"),
        (None, False, ("P2", "investigating"), "minor", "Minor Service Outage"),
        (None, False, ("P1", "identified"), "major", "Partial System Outage"),
        (None, False, ("P0", "monitoring"), "critical", "Major Service Outage"),
        (None, False, ("P0", "resolved"), "none", "All Systems Operational"),
        (None, True, ("P3", "investigating"), "maintenance", "Service Under Maintenance"),
        (None, True, ("P2", "investigating"), "minor", "Minor Service Outage"),
        ("degraded_performance", False, ("P1", "investigating"), "major", "Partial System Outage"),
        ("major_outage", False, ("P2", "investigating"), "major", "Partial System Outage"),
        ("partial_outage", False, ("P3", "investigating"), "minor", "Minor Service Outage"),
    ],
)
def test_the_indicator_is_the_worse_of_components_and_unresolved_incidents(
    client, catalog, component, maintenance, incident, indicator, description
):
    if component:
        service_set_status(service=catalog["api"], status=component)
    if maintenance:
        move(make_window([catalog["mail"]]), WindowState.IN_PROGRESS)
    if incident:
        severity, status = incident
        declared = declare(severity=severity)
        publish(declared, "Investigating.", now=T0)
        if status != "investigating":
            publish(declared, "Next.", status=status, now=T0 + MINUTE)
    assert get_json(client, "/api/v2/status.json")["status"] == {
        "indicator": indicator,
        "description": description,
    }


# --- Cache invalidation -----------------------------------------------------------------------


def test_a_new_public_update_shows_at_once_with_a_new_etag(
    client, django_capture_on_commit_callbacks
):
    incident = declare()
    publish(incident, "First.", now=T0)
    first = client.get("/api/v2/incidents.json")
    assert client.get("/api/v2/incidents.json", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        publish(incident, "Second.", status="identified", now=T0 + MINUTE)
    assert callbacks, "invalidation must run again once the update commits"
    changed = client.get("/api/v2/incidents.json", HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200 and changed["ETag"] != first["ETag"]
    assert changed.json()["incidents"][0]["incident_updates"][0]["body"] == "Second."
    again = client.get("/api/v2/incidents.json", HTTP_IF_NONE_MATCH=changed["ETag"])
    assert again.status_code == 304


@pytest.mark.parametrize(
    ("change", "expect"),
    [
        ({"public_title": "Renamed for the public"}, ("name", "Renamed for the public")),
        ({"severity": "P0"}, ("impact", "critical")),
        (
            {"title": "Internal rename, public title unset"},
            ("name", "Internal rename, public title unset"),
        ),
    ],
)
def test_incident_edits_that_show_publicly_invalidate_the_cache(client, change, expect):
    incident = declare(title="Original", severity="P2")
    publish(incident, "Looking.")
    before = client.get("/api/v2/summary.json")
    incident_update(incident=incident, by=None, **change)
    after = client.get("/api/v2/summary.json")
    assert after["ETag"] != before["ETag"]
    field, value = expect
    assert after.json()["incidents"][0][field] == value


def test_internal_notes_do_not_invalidate_the_cache(client, django_assert_num_queries):
    incident = declare()
    publish(incident, "Looking.")
    client.get("/api/v2/incidents.json")
    note(incident, "db01 is on fire")
    with django_assert_num_queries(0):
        assert client.get("/api/v2/incidents.json").status_code == 200


@pytest.mark.redis
def test_a_resolution_shows_at_once_with_the_redis_cache(
    client, settings, django_capture_on_commit_callbacks
):
    assert "Redis" in settings.CACHES["default"]["BACKEND"]
    incident = declare(severity="P0")
    publish(incident, "Down.", now=T0)
    assert len(incidents(client, "/api/v2/incidents/unresolved.json")) == 1
    with django_capture_on_commit_callbacks(execute=True):
        publish(incident, "Back.", status="resolved", now=T0 + MINUTE)
    assert incidents(client, "/api/v2/incidents/unresolved.json") == []
    assert get_json(client, "/api/v2/status.json")["status"]["indicator"] == "none"
