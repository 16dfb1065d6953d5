"""The Statuspage v2 JSON: shapes and enums of the reference, maintenance through its life,
groups, the public/internal line, HTTP behaviour (CORS, caching, methods) and query counts."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import ComponentStatus
from catalog.services import service_set_status
from maintenance.models import WindowState
from ops_portal.timeline import Visibility
from tests.factories import ServiceFactory, ServiceGroupFactory
from tests.statuspage.support import V2_PATHS, announce, make_window, move

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)

PAGE_KEYS = {"id", "name", "url", "time_zone", "updated_at"}
COMPONENT_KEYS = {
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "position",
    "description",
    "showcase",
    "start_date",
    "group_id",
    "page_id",
    "group",
    "only_show_if_degraded",
}
MAINTENANCE_KEYS = {
    "id",
    "name",
    "status",
    "impact",
    "created_at",
    "updated_at",
    "monitoring_at",
    "resolved_at",
    "started_at",
    "shortlink",
    "page_id",
    "incident_updates",
    "components",
    "scheduled_for",
    "scheduled_until",
}
UPDATE_KEYS = {
    "id",
    "incident_id",
    "status",
    "body",
    "created_at",
    "updated_at",
    "display_at",
    "affected_components",
    "deliver_notifications",
}
COMPONENT_STATUSES = {
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
}
MAINTENANCE_STATUSES = {"scheduled", "in_progress", "verifying", "completed"}


def get_json(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return response.json()


def assert_timestamp(value, *, nullable=False):
    if nullable and value is None:
        return
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, f"{value} has no offset"


def assert_component(component, page_id):
    expected = COMPONENT_KEYS | ({"components"} if component["group"] else set())
    assert set(component) == expected
    assert isinstance(component["id"], str)
    assert component["status"] in COMPONENT_STATUSES
    assert isinstance(component["position"], int) and component["position"] >= 1
    assert component["page_id"] == page_id
    assert isinstance(component["showcase"], bool)
    assert component["only_show_if_degraded"] is False
    assert component["description"] is None
    date.fromisoformat(component["start_date"])
    assert_timestamp(component["created_at"])
    assert_timestamp(component["updated_at"])
    if component["group"]:
        assert component["group_id"] is None
        assert all(isinstance(child, str) for child in component["components"])


def assert_maintenance(item, page_id):
    assert set(item) == MAINTENANCE_KEYS
    assert isinstance(item["id"], str)
    assert item["status"] in MAINTENANCE_STATUSES
    assert item["impact"] == "maintenance"
    assert item["page_id"] == page_id
    for key in ("created_at", "updated_at", "scheduled_for", "scheduled_until"):
        assert_timestamp(item[key])
    for key in ("monitoring_at", "resolved_at", "started_at"):
        assert_timestamp(item[key], nullable=True)
    for component in item["components"]:
        assert_component(component, page_id)
    for update in item["incident_updates"]:
        assert set(update) == UPDATE_KEYS
        assert update["incident_id"] == item["id"]
        assert update["status"] in MAINTENANCE_STATUSES
        assert isinstance(update["deliver_notifications"], bool)
        for key in ("created_at", "updated_at", "display_at"):
            assert_timestamp(update[key])
        for affected in update["affected_components"]:
            assert set(affected) == {"code", "name", "old_status", "new_status"}
            assert {affected["old_status"], affected["new_status"]} <= COMPONENT_STATUSES


@pytest.fixture
def catalog():
    core = ServiceGroupFactory(name="Core", position=1)
    edge = ServiceGroupFactory(name="Edge", position=2)
    return {
        "api": ServiceFactory(name="API", group=core, position=1),
        "db": ServiceFactory(name="Orders DB", group=core, position=2),
        "cdn": ServiceFactory(name="CDN", group=edge),
        "mail": ServiceFactory(name="Mail", group=None),
        "hidden": ServiceFactory(name="Internal queue", group=core, show_on_status_page=False),
    }


# --- Shapes -----------------------------------------------------------------------------------


def test_every_endpoint_has_the_page_object(client, settings, catalog):
    settings.STATUSPAGE_NAME = "Acme"
    settings.PUBLIC_BASE_URL = "https://status.example.com"
    for path in V2_PATHS:
        page = get_json(client, path)["page"]
        assert set(page) == PAGE_KEYS
        assert page["name"] == "Acme" and page["id"] == settings.STATUSPAGE_PAGE_ID
        assert page["url"] == "https://status.example.com/status/"
        assert page["time_zone"] == settings.TIME_ZONE
        assert_timestamp(page["updated_at"])


def test_components_have_the_reference_shape_with_groups_as_components(client, catalog):
    body = get_json(client, "/api/v2/components.json")
    assert set(body) == {"page", "components"}
    components = body["components"]
    for component in components:
        assert_component(component, body["page"]["id"])
    by_name = {c["name"]: c for c in components}
    # Page order: each group followed by its members, ungrouped ones last.
    assert [c["name"] for c in components] == ["Core", "API", "Orders DB", "Edge", "CDN", "Mail"]
    core = by_name["Core"]
    assert core["group"] is True and core["showcase"] is False
    assert core["components"] == [by_name["API"]["id"], by_name["Orders DB"]["id"]]
    assert by_name["API"]["group_id"] == core["id"] and by_name["API"]["group"] is False
    assert by_name["Mail"]["group_id"] is None
    assert [by_name[n]["position"] for n in ("Core", "Edge", "Mail")] == [1, 2, 3]
    assert [by_name[n]["position"] for n in ("API", "Orders DB")] == [1, 2]
    # Service ids are the codes incidents' public updates already use.
    assert by_name["API"]["id"] == str(catalog["api"].pk)
    assert len({c["id"] for c in components}) == len(components)


def test_a_group_shows_its_worst_component_status(client, catalog):
    service_set_status(service=catalog["db"], status=ComponentStatus.PARTIAL_OUTAGE)
    service_set_status(service=catalog["api"], status=ComponentStatus.DEGRADED_PERFORMANCE)
    by_name = {c["name"]: c for c in get_json(client, "/api/v2/components.json")["components"]}
    assert by_name["Core"]["status"] == "partial_outage"
    assert by_name["Edge"]["status"] == "operational"


def test_a_group_without_public_components_is_not_shown(client):
    lonely = ServiceGroupFactory(name="Back office")
    ServiceFactory(name="Payroll", group=lonely, show_on_status_page=False)
    assert get_json(client, "/api/v2/components.json")["components"] == []


def test_scheduled_maintenance_has_the_reference_shape(client, catalog):
    window = make_window([catalog["api"], catalog["db"]], title="Upgrade PostgreSQL")
    announce(window, "We will upgrade the orders database.")
    body = get_json(client, "/api/v2/scheduled-maintenances.json")
    assert set(body) == {"page", "scheduled_maintenances"}
    [item] = body["scheduled_maintenances"]
    assert_maintenance(item, body["page"]["id"])
    assert item["name"] == "Upgrade PostgreSQL" and item["status"] == "scheduled"
    assert item["scheduled_for"] == window.scheduled_start.isoformat(timespec="milliseconds")
    assert item["shortlink"].endswith(reverse("statuspage:maintenance", args=[window.pk]))
    assert [c["name"] for c in item["components"]] == ["API", "Orders DB"]
    [update] = item["incident_updates"]
    assert update["status"] == "scheduled"
    assert update["body"] == "We will upgrade the orders database."
    assert client.get(reverse("statuspage:maintenance", args=[window.pk])).status_code == 200


# --- A window's life on the JSON --------------------------------------------------------------


def _names(client, path):
    return [m["name"] for m in get_json(client, path)["scheduled_maintenances"]]


def _component_status(client, name):
    components = get_json(client, "/api/v2/components.json")["components"]
    return {c["name"]: c["status"] for c in components}[name]


def test_a_window_is_upcoming_then_active_with_components_under_maintenance_then_done(
    client, catalog
):
    window = make_window([catalog["db"]], title="Failover drill")
    announce(window, "Planned failover of the orders database.")
    assert _names(client, "/api/v2/scheduled-maintenances/upcoming.json") == ["Failover drill"]
    assert _names(client, "/api/v2/scheduled-maintenances/active.json") == []
    assert _component_status(client, "Orders DB") == "operational"

    move(window, WindowState.IN_PROGRESS, body="Maintenance is in progress.")
    assert _names(client, "/api/v2/scheduled-maintenances/upcoming.json") == []
    [active] = get_json(client, "/api/v2/scheduled-maintenances/active.json")[
        "scheduled_maintenances"
    ]
    assert active["status"] == "in_progress" and active["started_at"] is not None
    assert [c["status"] for c in active["components"]] == ["under_maintenance"]
    assert [u["status"] for u in active["incident_updates"]] == ["in_progress", "scheduled"]
    assert _component_status(client, "Orders DB") == "under_maintenance"
    assert _component_status(client, "Core") == "under_maintenance"
    assert _component_status(client, "API") == "operational"

    move(window, WindowState.VERIFYING, body="Verifying.")
    [verifying] = get_json(client, "/api/v2/scheduled-maintenances/active.json")[
        "scheduled_maintenances"
    ]
    assert verifying["status"] == "verifying" and verifying["monitoring_at"] is not None

    move(window, WindowState.COMPLETED, body="All done.")
    assert _names(client, "/api/v2/scheduled-maintenances/upcoming.json") == []
    assert _names(client, "/api/v2/scheduled-maintenances/active.json") == []
    [done] = get_json(client, "/api/v2/scheduled-maintenances.json")["scheduled_maintenances"]
    assert done["status"] == "completed" and done["resolved_at"] is not None
    assert [u["status"] for u in done["incident_updates"]] == [
        "completed",
        "verifying",
        "in_progress",
        "scheduled",
    ]
    assert _component_status(client, "Orders DB") == "operational"


def test_an_outage_during_maintenance_shows_as_the_outage(client, catalog):
    window = make_window([catalog["db"]])
    move(window, WindowState.IN_PROGRESS)
    service_set_status(service=catalog["db"], status=ComponentStatus.MAJOR_OUTAGE)
    assert _component_status(client, "Orders DB") == "major_outage"


def test_cancelled_windows_never_appear(client, catalog):
    window = make_window([catalog["db"]], title="Called off")
    announce(window, "Planned.")
    move(window, WindowState.CANCELLED, body="Cancelled.")
    for path in V2_PATHS:
        assert "Called off" not in client.get(path).content.decode()


def test_the_list_keeps_active_windows_however_many_are_planned(client, catalog):
    now_active = make_window([catalog["db"]], title="Running now")
    move(now_active, WindowState.IN_PROGRESS)
    for n in range(55):
        make_window([catalog["api"]], title=f"Later {n}", start=timezone.now() + (n + 2) * DAY)
    items = get_json(client, "/api/v2/scheduled-maintenances.json")["scheduled_maintenances"]
    assert len(items) == 50
    assert "Running now" in [m["name"] for m in items]
    # Newest scheduled first, like Statuspage's lists.
    starts = [datetime.fromisoformat(m["scheduled_for"]) for m in items]
    assert starts == sorted(starts, reverse=True)
    assert _names(client, "/api/v2/scheduled-maintenances/active.json") == ["Running now"]


def test_recent_completed_windows_are_listed_most_recent_first_up_to_fifty(client, catalog):
    for n in range(52):
        window = make_window([catalog["api"]], title=f"Past {n}")
        move(window, WindowState.IN_PROGRESS)
        move(window, WindowState.COMPLETED)
    names = _names(client, "/api/v2/scheduled-maintenances.json")
    assert len(names) == 50
    assert "Past 51" in names and "Past 0" not in names and "Past 1" not in names


# --- Public and internal ----------------------------------------------------------------------

MARKER = "ZZ-INTERNAL-7f3a"


def test_internal_windows_and_entries_never_reach_the_json(client, catalog, commander):
    internal = make_window(
        [catalog["api"]],
        title=f"{MARKER} internal title",
        description=f"{MARKER} internal description",
        public=False,
        rollback_plan=f"{MARKER} rollback",
        owner=commander,
    )
    announce(internal, f"{MARKER} public-looking entry of an internal window")
    move(internal, WindowState.IN_PROGRESS, body=f"{MARKER} start")
    public = make_window(
        [catalog["db"], catalog["hidden"]],
        title="Public window",
        rollback_plan=f"{MARKER} rollback",
        owner=commander,
    )
    public.checklist.create(phase="pre", title=f"{MARKER} checklist item")
    announce(public, "Public announcement.")
    announce(public, f"{MARKER} internal note", visibility=Visibility.INTERNAL)
    announce(public, "Another public one.", secret=f"{MARKER} data", internal_id=42)
    catalog["hidden"].name = f"{MARKER} hidden service"
    catalog["hidden"].save()
    catalog["api"].description = f"{MARKER} engineers' description"
    catalog["api"].save()

    for path in V2_PATHS:
        text = client.get(path).content.decode()
        assert MARKER not in text, path
        assert commander.username not in text and commander.email not in text
    [item] = get_json(client, "/api/v2/scheduled-maintenances.json")["scheduled_maintenances"]
    assert item["name"] == "Public window"
    assert [c["name"] for c in item["components"]] == ["Orders DB"]
    assert [u["body"] for u in item["incident_updates"]] == [
        "Another public one.",
        "Public announcement.",
    ]
    # An internal window puts nothing under maintenance on the public page.
    assert _component_status(client, "API") == "operational"


def test_affected_components_of_an_entry_keep_only_public_components(client, catalog):
    window = make_window([catalog["db"], catalog["hidden"]])
    move(window, WindowState.IN_PROGRESS)
    announce(
        window,
        "Components are under maintenance.",
        affected_components=[
            {
                "code": str(catalog["db"].pk),
                "name": "stale name",
                "old_status": "operational",
                "new_status": "under_maintenance",
            },
            {
                "code": str(catalog["hidden"].pk),
                "name": f"{MARKER}",
                "old_status": "operational",
                "new_status": "under_maintenance",
            },
            {"code": str(catalog["db"].pk), "old_status": "bogus", "new_status": "x"},
            "not a dict",
        ],
    )
    [item] = get_json(client, "/api/v2/scheduled-maintenances/active.json")[
        "scheduled_maintenances"
    ]
    assert item["incident_updates"][0]["affected_components"] == [
        {
            "code": str(catalog["db"].pk),
            "name": "Orders DB",
            "old_status": "operational",
            "new_status": "under_maintenance",
        }
    ]


def test_an_entry_without_a_status_keeps_the_one_announced_before(client, catalog):
    window = make_window([catalog["db"]])
    move(window, WindowState.IN_PROGRESS)
    announce(window, "Half way there.", status="")
    [item] = get_json(client, "/api/v2/scheduled-maintenances/active.json")[
        "scheduled_maintenances"
    ]
    assert [(u["status"], u["body"]) for u in item["incident_updates"][:2]] == [
        ("in_progress", "Half way there."),
        ("in_progress", "Now in_progress."),
    ]


# --- HTTP -------------------------------------------------------------------------------------

ROLES = ["anonymous", "viewer", "responder", "commander", "admin"]


@pytest.mark.parametrize("path", V2_PATHS)
@pytest.mark.parametrize("persona", ROLES, indirect=True)
def test_every_role_and_anonymous_reads_the_json(client, persona, path):
    if persona is not None:
        client.force_login(persona)
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", V2_PATHS)
def test_answers_allow_any_origin_and_short_public_caching(client, path):
    response = client.get(path, HTTP_ORIGIN="https://widgets.example.org")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Cache-Control"] == "public, max-age=10"
    assert response["ETag"].startswith('"')
    assert "Cookie" not in response.get("Vary", "")
    assert not response.cookies


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("path", V2_PATHS)
def test_only_get_and_head_are_allowed(client, path, method):
    response = getattr(client, method)(path, data="{}", content_type="application/json")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response.json()["type"] == "method_not_allowed"


def test_head_answers_headers_without_a_body(client, catalog):
    get = client.get("/api/v2/components.json")
    head = client.head("/api/v2/components.json")
    assert head.status_code == 200 and head.content == b""
    assert head["Content-Length"] == str(len(get.content))
    assert head["ETag"] == get["ETag"]


def test_an_unchanged_body_answers_304_to_its_etag(client, catalog):
    first = client.get("/api/v2/components.json")
    again = client.get("/api/v2/components.json", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b""
    assert again["Access-Control-Allow-Origin"] == "*"
    service_set_status(service=catalog["api"], status=ComponentStatus.MAJOR_OUTAGE)
    changed = client.get("/api/v2/components.json", HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200 and changed["ETag"] != first["ETag"]


def test_other_api_v2_paths_still_get_the_json_404(client):
    response = client.get("/api/v2/nope.json")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


def test_the_statuspage_paths_stay_out_of_our_openapi_schema(client, viewer):
    client.force_login(viewer)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert not [path for path in schema["paths"] if path.startswith("/api/v2/")]


# --- Cache ------------------------------------------------------------------------------------


def test_a_second_read_is_served_without_queries(client, catalog, django_assert_num_queries):
    client.get("/api/v2/components.json")
    with django_assert_num_queries(0):
        assert client.get("/api/v2/components.json").status_code == 200


def _invalidation_round_trip(client, catalog, django_capture_on_commit_callbacks):
    assert _component_status(client, "API") == "operational"
    service_set_status(service=catalog["api"], status=ComponentStatus.PARTIAL_OUTAGE)
    assert _component_status(client, "API") == "partial_outage"

    window = make_window([catalog["db"]], title="Cache check")
    assert _names(client, "/api/v2/scheduled-maintenances/upcoming.json") == ["Cache check"]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        move(window, WindowState.IN_PROGRESS)
    assert callbacks, "invalidation must run again once the write commits"
    assert _names(client, "/api/v2/scheduled-maintenances/active.json") == ["Cache check"]
    window.services.remove(catalog["db"])
    assert _component_status(client, "Orders DB") == "operational"
    catalog["mail"].show_on_status_page = False
    catalog["mail"].save()
    names = {c["name"] for c in get_json(client, "/api/v2/components.json")["components"]}
    assert "Mail" not in names


def test_changes_show_at_once_despite_the_cache(
    client, catalog, django_capture_on_commit_callbacks
):
    _invalidation_round_trip(client, catalog, django_capture_on_commit_callbacks)


@pytest.mark.redis
def test_changes_show_at_once_with_the_redis_cache(
    client, catalog, settings, django_capture_on_commit_callbacks
):
    assert "Redis" in settings.CACHES["default"]["BACKEND"]
    _invalidation_round_trip(client, catalog, django_capture_on_commit_callbacks)


def test_internal_log_entries_do_not_invalidate_the_cache(
    client, catalog, django_assert_num_queries
):
    window = make_window([catalog["db"]])
    client.get("/api/v2/scheduled-maintenances.json")
    announce(window, "checklist ticked", visibility=Visibility.INTERNAL)
    with django_assert_num_queries(0):
        client.get("/api/v2/scheduled-maintenances.json")


def test_the_json_is_served_when_the_cache_server_is_down(client, catalog, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    body = get_json(client, "/api/v2/components.json")
    assert {c["name"] for c in body["components"]} >= {"API", "Mail"}


# --- Queries ----------------------------------------------------------------------------------


def _populate(n):
    group = ServiceGroupFactory()
    services = [ServiceFactory(group=group if i % 2 else None) for i in range(n)]
    for i in range(n):
        window = make_window(services[i : i + 2], title=f"Window {i}")
        announce(window, "Planned.")
        if i % 3 == 0:
            move(window, WindowState.IN_PROGRESS)
        elif i % 3 == 1:
            move(window, WindowState.IN_PROGRESS)
            move(window, WindowState.COMPLETED)
    announce(window, "Internal.", visibility=Visibility.INTERNAL)


@pytest.mark.parametrize("n", [1, 20])
@pytest.mark.parametrize("path", V2_PATHS)
def test_queries_on_a_cache_miss_do_not_grow_with_data(
    client, path, n, django_assert_max_num_queries
):
    _populate(n)
    with django_assert_max_num_queries(10):  # components 2, incidents 3, maintenance 4, uptime 1
        assert client.get(path).status_code == 200
