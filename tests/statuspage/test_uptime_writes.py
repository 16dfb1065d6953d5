"""Every write of a component status is recorded in the history uptime is computed from:
the REST API and the admin go through catalog.services.service_set_status too."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.permissions import Role
from catalog.models import ComponentStatus as S
from catalog.models import Service, ServiceStatusChange
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db


def changes(service) -> list[tuple[str, str]]:
    return list(
        ServiceStatusChange.objects.filter(service=service)
        .order_by("changed_at", "id")
        .values_list("previous", "status")
    )


def test_an_api_status_update_is_recorded(api_as, admin_user):
    service = ServiceFactory()
    response = api_as(admin_user).patch(
        f"/api/v1/services/{service.pk}/", {"status": S.PARTIAL_OUTAGE}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "partial_outage"
    assert changes(service) == [("operational", "partial_outage")]


def test_an_api_update_of_other_fields_records_no_change(api_as, admin_user):
    service = ServiceFactory()
    client = api_as(admin_user)
    response = client.patch(f"/api/v1/services/{service.pk}/", {"name": "Renamed"}, format="json")
    assert response.status_code == 200
    assert changes(service) == []


def test_a_service_created_in_trouble_is_recorded_at_its_creation(api_as, admin_user):
    response = api_as(admin_user).post(
        "/api/v1/services/",
        {"name": "Search", "slug": "search", "status": S.MAJOR_OUTAGE},
        format="json",
    )
    assert response.status_code == 201 and response.json()["status"] == "major_outage"
    service = Service.objects.get(slug="search")
    (change,) = ServiceStatusChange.objects.filter(service=service)
    assert (change.previous, change.status) == ("operational", "major_outage")
    assert change.changed_at == service.created_at


def _admin_form(service: Service, **overrides) -> dict:
    data = {
        "name": service.name,
        "slug": service.slug,
        "description": "",
        "owner_team": "",
        "group": "",
        "component_name": service.component_name,
        "status": service.status,
        "show_on_status_page": "on",
        "position": service.position,
        "targets-TOTAL_FORMS": "0",
        "targets-INITIAL_FORMS": "0",
        "targets-MIN_NUM_FORMS": "0",
        "targets-MAX_NUM_FORMS": "1000",
    }
    return {**data, **overrides}


@pytest.fixture
def admin_client_of(client, make_user):
    superuser = make_user(Role.ADMIN, is_staff=True, is_superuser=True)
    client.force_login(superuser)
    return client


def test_an_admin_status_change_is_recorded(admin_client_of):
    service = ServiceFactory(group=None, owner_team=None)
    url = reverse("admin:catalog_service_change", args=[service.pk])
    response = admin_client_of.post(url, _admin_form(service, status=S.DEGRADED_PERFORMANCE))
    assert response.status_code == 302, response.content.decode()[:2000]
    service.refresh_from_db()
    assert service.status == "degraded_performance"
    assert changes(service) == [("operational", "degraded_performance")]


def test_an_admin_save_without_a_status_change_records_nothing(admin_client_of):
    service = ServiceFactory(group=None, owner_team=None)
    url = reverse("admin:catalog_service_change", args=[service.pk])
    response = admin_client_of.post(url, _admin_form(service, name="Renamed"))
    assert response.status_code == 302
    assert changes(service) == []


def test_a_service_added_in_the_admin_in_trouble_is_recorded(admin_client_of):
    blank = Service(name="Billing", slug="billing", status=S.MAJOR_OUTAGE)
    response = admin_client_of.post(reverse("admin:catalog_service_add"), _admin_form(blank))
    assert response.status_code == 302
    service = Service.objects.get(slug="billing")
    assert service.status == "major_outage"
    assert changes(service) == [("operational", "major_outage")]
