"""The catalog REST API: CRUD, validation errors, filters and constant query counts."""

from __future__ import annotations

import pytest

from catalog.models import ComponentStatus, Service, Target
from tests.factories import ServiceFactory, ServiceGroupFactory, TargetFactory, TeamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_api(api_as, admin_user):
    return api_as(admin_user)


@pytest.fixture
def viewer_api(api_as, viewer):
    return api_as(viewer)


def test_create_service_with_team_and_group(admin_api):
    team = TeamFactory(slug="payments")
    group = ServiceGroupFactory()
    response = admin_api.post(
        "/api/v1/services/",
        {
            "name": "Payments",
            "slug": "payments",
            "owner_team": "payments",
            "group": group.pk,
            "component_name": "Card payments",
            "status": "degraded_performance",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["owner_team"] == team.slug
    assert body["public_name"] == "Card payments"
    assert body["group_name"] == group.name
    assert Service.objects.get(slug="payments").status == ComponentStatus.DEGRADED_PERFORMANCE


def test_invalid_service_status_is_a_400_with_field_errors(admin_api):
    response = admin_api.post(
        "/api/v1/services/", {"name": "X", "slug": "x", "status": "on_fire"}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "validation_error"
    assert "status" in body["errors"]


def test_duplicate_slug_is_a_400_not_a_500(admin_api):
    ServiceFactory(slug="search")
    response = admin_api.post(
        "/api/v1/services/", {"name": "Search 2", "slug": "search"}, format="json"
    )
    assert response.status_code == 400
    assert "slug" in response.json()["errors"]


def test_create_target_normalises_config(admin_api):
    service = ServiceFactory()
    response = admin_api.post(
        "/api/v1/targets/",
        {
            "service": service.pk,
            "name": "db",
            "kind": "postgres",
            "config": {"dsn_env": "ORDERS_DSN"},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["config"]["connect_timeout_s"] == 5
    assert Target.objects.get(name="db").config["dsn_env"] == "ORDERS_DSN"


def test_target_with_secret_in_config_is_rejected_and_not_stored(admin_api):
    service = ServiceFactory()
    response = admin_api.post(
        "/api/v1/targets/",
        {
            "service": service.pk,
            "name": "db",
            "kind": "postgres",
            "config": {"dsn": "postgres://app:hunter2@db/app"},
        },
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()["errors"]["config"]
    assert "dsn" in errors and "dsn_env" in errors
    assert not Target.objects.exists()
    assert "hunter2" not in response.content.decode()


def test_changing_kind_revalidates_config(admin_api):
    target = TargetFactory()  # http
    response = admin_api.patch(f"/api/v1/targets/{target.pk}/", {"kind": "redis"}, format="json")
    assert response.status_code == 400
    assert "config" in response.json()["errors"]
    target.refresh_from_db()
    assert target.kind == "http"


def test_duplicate_target_name_on_a_service_is_a_400(admin_api):
    target = TargetFactory(name="health")
    response = admin_api.post(
        "/api/v1/targets/",
        {
            "service": target.service_id,
            "name": "health",
            "kind": "http",
            "config": {"url": "https://a.example"},
        },
        format="json",
    )
    assert response.status_code == 400
    assert "name" in response.json()["errors"]


def test_filters_by_status_and_slug(viewer_api):
    ServiceFactory(slug="a", status=ComponentStatus.MAJOR_OUTAGE)
    ServiceFactory(slug="b")
    by_status = viewer_api.get("/api/v1/services/?status=major_outage").json()
    assert [s["slug"] for s in by_status["results"]] == ["a"]
    assert viewer_api.get("/api/v1/services/?slug=b").json()["count"] == 1


def test_list_uses_the_drf_page_shape(viewer_api):
    ServiceFactory.create_batch(3)
    body = viewer_api.get("/api/v1/services/").json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 3


def test_unknown_api_path_is_json_404(viewer_api):
    response = viewer_api.get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json()["type"] == "not_found"


@pytest.mark.parametrize(
    "path", ["/api/v1/services/", "/api/v1/targets/", "/api/v1/service-groups/"]
)
def test_list_query_count_does_not_grow_with_rows(viewer_api, django_assert_max_num_queries, path):
    TargetFactory.create_batch(2)
    with django_assert_max_num_queries(6) as small:
        assert viewer_api.get(path).status_code == 200
    TargetFactory.create_batch(25)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert viewer_api.get(path).status_code == 200
