"""/metrics: Prometheus text with request counters, latency histograms and component gauges."""

from __future__ import annotations

import pytest
from django.test import override_settings
from prometheus_client.parser import text_string_to_metric_families

from catalog.models import ComponentStatus
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db


def _samples(response) -> dict:
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_is_prometheus_text_with_component_status_gauges(client):
    ServiceFactory(slug="payments", status=ComponentStatus.MAJOR_OUTAGE)
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = _samples(response)
    gauge = "opsportal_component_status"
    assert samples[(gauge, (("service", "payments"), ("status", "major_outage")))] == 1.0
    assert samples[(gauge, (("service", "payments"), ("status", "operational")))] == 0.0


def test_requests_are_counted_by_route_pattern_not_raw_path(client, viewer):
    service = ServiceFactory(slug="checkout")
    client.force_login(viewer)
    client.get(f"/services/{service.slug}/")
    client.get("/services/no-such-service/")
    samples = _samples(client.get("/metrics"))
    route = "/services/<slug:slug>/"
    ok = samples[
        ("opsportal_http_requests_total", (("method", "GET"), ("route", route), ("status", "200")))
    ]
    missing = samples[
        ("opsportal_http_requests_total", (("method", "GET"), ("route", route), ("status", "404")))
    ]
    assert ok >= 1 and missing >= 1
    assert not any(
        "checkout" in str(labels)
        for (_name, labels) in samples
        if _name.startswith("opsportal_http")
    )
    buckets = [k for k in samples if k[0] == "opsportal_http_request_duration_seconds_bucket"]
    assert buckets


@override_settings(METRICS_TOKEN="s3cret-scrape-token")
def test_metrics_token_when_configured(client):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    ok = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")
    assert ok.status_code == 200
