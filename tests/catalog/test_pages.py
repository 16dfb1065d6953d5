"""Catalog pages: grouped list with status badges, filters, detail with targets."""

from __future__ import annotations

import pytest
from django.urls import reverse

from catalog.models import ComponentStatus
from tests.factories import ServiceFactory, ServiceGroupFactory, TargetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, viewer):
    client.force_login(viewer)
    return client


def test_list_groups_services_and_shows_status_text(signed_in):
    group = ServiceGroupFactory(name="Customer-facing")
    ServiceFactory(name="Payments", group=group, status=ComponentStatus.MAJOR_OUTAGE)
    ServiceFactory(name="Search", group=group)
    ServiceFactory(name="Loose", group=None)
    html = signed_in.get(reverse("catalog:service-list")).content.decode()
    assert "Customer-facing" in html and "Ungrouped" in html
    assert "status-major_outage" in html and "Major outage" in html
    assert html.index("Customer-facing") < html.index("Ungrouped")


def test_status_filter_works_without_javascript(signed_in):
    ServiceFactory(name="Payments", status=ComponentStatus.MAJOR_OUTAGE)
    ServiceFactory(name="Quiet one")
    html = signed_in.get(
        reverse("catalog:service-list"), {"status": "major_outage"}
    ).content.decode()
    assert "Payments" in html and "Quiet one" not in html


def test_htmx_request_gets_only_the_sections_partial(signed_in):
    ServiceFactory(name="Payments")
    response = signed_in.get(reverse("catalog:service-list"), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "Payments" in html and "<html" not in html


def test_search_and_unknown_status_are_safe(signed_in):
    ServiceFactory(name="Payments", slug="payments")
    ok = signed_in.get(reverse("catalog:service-list"), {"q": "paym", "status": "bogus"})
    assert ok.status_code == 200 and "Payments" in ok.content.decode()


def test_service_names_are_escaped(signed_in):
    ServiceFactory(name='<img src=x onerror="alert(1)">', slug="xss")
    html = signed_in.get(reverse("catalog:service-list")).content.decode()
    assert "<img src=x" not in html and "&lt;img" in html


def test_detail_shows_targets_with_config(signed_in):
    target = TargetFactory(name="payments-health")
    html = signed_in.get(
        reverse("catalog:service-detail", args=[target.service.slug])
    ).content.decode()
    assert "payments-health" in html and "https://example.com/health" in html


def test_unknown_service_is_404(signed_in):
    assert signed_in.get(reverse("catalog:service-detail", args=["nope"])).status_code == 404


def test_list_page_query_count_does_not_grow_with_services(
    signed_in, django_assert_max_num_queries
):
    TargetFactory.create_batch(2)
    with django_assert_max_num_queries(12) as small:
        signed_in.get(reverse("catalog:service-list"))
    TargetFactory.create_batch(30)
    with django_assert_max_num_queries(len(small.captured_queries)):
        signed_in.get(reverse("catalog:service-list"))


def test_detail_page_query_count_does_not_grow_with_targets(
    signed_in, django_assert_max_num_queries
):
    service = ServiceFactory()
    TargetFactory.create_batch(2, service=service)
    url = reverse("catalog:service-detail", args=[service.slug])
    with django_assert_max_num_queries(12) as small:
        signed_in.get(url)
    TargetFactory.create_batch(20, service=service)
    with django_assert_max_num_queries(len(small.captured_queries)):
        signed_in.get(url)
