"""/api/v1/maintenance-windows/: roles, the state machine over HTTP, errors and query counts."""

from __future__ import annotations

import pytest

from accounts.permissions import Role
from maintenance.models import MaintenanceWindow, Phase
from tests.factories import ServiceFactory

from .support import T0, plan, small_template, tick_all

pytestmark = pytest.mark.django_db
URL = "/api/v1/maintenance-windows/"


@pytest.fixture
def service(db):
    return ServiceFactory(slug="orders-db")


def body(service, **extra):
    return {
        "title": "Upgrade PostgreSQL to 16",
        "services": [service.slug],
        "scheduled_start": "2026-12-01T22:00:00Z",
        "scheduled_end": "2026-12-02T00:00:00Z",
        "rollback_plan": "Fail back to the old primary.",
        **extra,
    }


@pytest.mark.parametrize(
    ("role", "read", "tick", "manage"),
    [
        (None, 401, 401, 401),
        (Role.VIEWER, 200, 403, 403),
        (Role.RESPONDER, 200, 200, 403),
        (Role.COMMANDER, 200, 200, 201),
        (Role.ADMIN, 200, 200, 201),
    ],
)
def test_role_table(api_as, make_user, service, role, read, tick, manage):
    window = plan(make_user(Role.COMMANDER), [service])
    item = window.checklist.first()
    client = api_as(make_user(role) if role else None)
    assert client.get(URL).status_code == read
    assert client.get(f"{URL}{window.pk}/").status_code == read
    assert client.get(f"{URL}{window.pk}/events/").status_code == read
    assert client.post(f"{URL}{window.pk}/checklist/{item.pk}/", {"done": True}).status_code == tick
    created = client.post(URL, body(service, confirm_overlap=True), format="json")
    assert created.status_code == manage
    start = client.post(f"{URL}{window.pk}/start/", {}, format="json").status_code
    assert start == (409 if manage == 201 else manage)  # commanders get past the role check


def test_plan_tick_start_verify_complete_over_the_api(api_as, make_user, service):
    small_template("api-checklist")
    client = api_as(make_user(Role.COMMANDER))
    created = client.post(URL, body(service, checklist_template="api-checklist"), format="json")
    assert created.status_code == 201, created.json()
    window = created.json()
    assert window["state"] == "scheduled" and window["ref"] == f"MW-{window['id']}"

    refused = client.post(f"{URL}{window['id']}/start/", {}, format="json")
    assert refused.status_code == 409
    assert refused.json()["type"] == "checklist_open"
    assert len(refused.json()["extra"]["items"]) == 2

    for item in window["checklist"]:
        if item["phase"] in ("pre", "post"):
            ticked = client.post(
                f"{URL}{window['id']}/checklist/{item['id']}/", {"done": True}, format="json"
            )
            assert ticked.json()["done"] is True and ticked.json()["done_by"]
    for step in ("start", "verify", "complete"):
        moved = client.post(f"{URL}{window['id']}/{step}/", {}, format="json")
        assert moved.status_code == 200, moved.json()
    assert moved.json()["state"] == "completed"

    log = client.get(f"{URL}{window['id']}/events/?after=0").json()["results"]
    assert [e["seq"] for e in log] == list(range(1, len(log) + 1))
    later = client.get(f"{URL}{window['id']}/events/?after={log[-2]['seq']}").json()["results"]
    assert [e["seq"] for e in later] == [log[-1]["seq"]]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"scheduled_end": "2026-12-01T21:00:00Z"}, "scheduled_end"),
        ({"services": []}, "services"),
        ({"services": ["no-such-service"]}, "services"),
        ({"title": ""}, "title"),
        ({"scheduled_start": "tomorrow"}, "scheduled_start"),
        ({"checklist_template": "nope"}, "checklist_template"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api_as, make_user, service, change, field):
    client = api_as(make_user(Role.COMMANDER))
    response = client.post(URL, body(service, **change), format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_an_overlap_is_a_409_listing_the_windows_until_confirmed(api_as, make_user, service):
    client = api_as(make_user(Role.COMMANDER))
    first = client.post(URL, body(service), format="json").json()
    clash = client.post(URL, body(service), format="json")
    assert clash.status_code == 409 and clash.json()["type"] == "overlap"
    assert [w["id"] for w in clash.json()["extra"]["windows"]] == [first["id"]]
    assert client.post(URL, body(service, confirm_overlap=True), format="json").status_code == 201


def test_an_override_by_a_commander_is_403_and_by_an_admin_is_logged(api_as, make_user, service):
    window = plan(make_user(Role.COMMANDER), [service])
    payload = {"override_reason": "CVE patch"}
    commander = api_as(make_user(Role.COMMANDER))
    assert commander.post(f"{URL}{window.pk}/start/", payload, format="json").status_code == 403
    admin = api_as(make_user(Role.ADMIN))
    started = admin.post(f"{URL}{window.pk}/start/", payload, format="json")
    assert started.status_code == 200 and started.json()["state"] == "in_progress"
    assert window.events.filter(kind="override").exists()


def test_unknown_item_and_bad_after_are_4xx(api_as, make_user, service):
    window = plan(make_user(Role.COMMANDER), [service])
    client = api_as(make_user(Role.COMMANDER))
    missing = client.post(f"{URL}{window.pk}/checklist/999999/", {"done": True}, format="json")
    assert missing.status_code == 404
    assert client.get(f"{URL}{window.pk}/events/?after=-1").status_code == 400
    # PUT is not offered (partial updates only): refused before anything is read.
    assert client.put(f"{URL}{window.pk}/", body(service), format="json").status_code in (403, 405)


def test_filters_by_state_and_service(api_as, make_user, service):
    commander = make_user(Role.COMMANDER)
    running = plan(commander, [service])
    tick_all(running, commander, Phase.PRE)
    from maintenance import services as window_services

    window_services.window_start(window=running, by=commander)
    plan(commander, [ServiceFactory()], start=T0)
    client = api_as(commander)
    in_progress = client.get(f"{URL}?state=in_progress").json()
    assert [w["id"] for w in in_progress["results"]] == [running.pk]
    by_service = client.get(f"{URL}?service={service.pk}").json()
    assert [w["id"] for w in by_service["results"]] == [running.pk]


@pytest.mark.parametrize("count", [1, 20])
def test_list_query_count_does_not_grow(api_as, make_user, count, django_assert_max_num_queries):
    commander = make_user(Role.COMMANDER)
    template = small_template()
    for n in range(count):
        plan(commander, [ServiceFactory(), ServiceFactory()], template=template, title=f"W{n}")
    client = api_as(commander)
    with django_assert_max_num_queries(8):
        response = client.get(URL)
    assert response.json()["count"] == count == MaintenanceWindow.objects.count()


def test_detail_query_count_is_bounded(api_as, make_user, service, django_assert_max_num_queries):
    commander = make_user(Role.COMMANDER)
    window = plan(commander, [service, ServiceFactory()])
    tick_all(window, commander, Phase.PRE)
    with django_assert_max_num_queries(10):
        response = api_as(commander).get(f"{URL}{window.pk}/")
    assert len(response.json()["checklist"]) == 4
