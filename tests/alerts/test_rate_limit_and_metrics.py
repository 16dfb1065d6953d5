"""Per-integration rate limits (429 + Retry-After, counted in alerts) and ingestion metrics."""

import re
import uuid

import pytest
from django.core.cache import cache

from alerts import ratelimit
from alerts.models import RawEvent

from .payloads import am_alert, am_payload, pd_event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()


def _flush_redis_counters(integration):
    if ratelimit.settings.REDIS_URL:
        client = ratelimit._redis()
        for key in client.scan_iter(f"ops:alerts:rate:{integration.pk}:*"):
            client.delete(key)


@pytest.fixture
def limited(make_integration):
    integration = make_integration(name=f"limited-{uuid.uuid4().hex[:6]}", rate_limit_per_minute=5)
    _flush_redis_counters(integration)
    yield integration
    _flush_redis_counters(integration)


def test_over_the_limit_is_a_429_with_retry_after_and_nothing_stored(post, limited, checkout):
    batch = am_payload(*[am_alert(f"A{i}", severity="info") for i in range(4)])
    assert post("alertmanager", batch, limited.raw_token).status_code == 202
    second = am_payload(*[am_alert(f"B{i}", severity="info") for i in range(2)])
    response = post("alertmanager", second, limited.raw_token)
    assert response.status_code == 429  # 4 + 2 alerts > 5 per minute
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response.json()["type"] == "rate_limited"
    assert RawEvent.objects.count() == 1


def test_pagerduty_throttle_uses_pagerdutys_shape(post, make_integration):
    pd = make_integration("pagerduty", rate_limit_per_minute=1)
    _flush_redis_counters(pd)
    assert post("pagerduty", pd_event(pd.raw_token, dedup_key="a")).status_code == 202
    response = post("pagerduty", pd_event(pd.raw_token, dedup_key="b"))
    assert response.status_code == 429
    assert response.json()["status"] == "throttle event"
    assert response.has_header("Retry-After")
    _flush_redis_counters(pd)


def test_limits_are_per_integration(post, limited, make_integration, checkout):
    other = make_integration(name="other", rate_limit_per_minute=5)
    _flush_redis_counters(other)
    batch = am_payload(*[am_alert(f"A{i}", severity="info") for i in range(5)])
    assert post("alertmanager", batch, limited.raw_token).status_code == 202
    assert post("alertmanager", batch, other.raw_token).status_code == 202
    _flush_redis_counters(other)


def test_site_default_applies_when_the_integration_sets_none(settings, post, make_integration):
    settings.ALERTS_RATE_LIMIT_PER_MINUTE = 2
    am = make_integration()
    _flush_redis_counters(am)
    assert post("alertmanager", am_payload(am_alert("A")), am.raw_token).status_code == 202
    assert post("alertmanager", am_payload(am_alert("B")), am.raw_token).status_code == 202
    assert post("alertmanager", am_payload(am_alert("C")), am.raw_token).status_code == 429
    _flush_redis_counters(am)


@pytest.mark.redis
def test_redis_counts_atomically_across_clients(limited):
    """Two 'processes' (independent counters in Redis) share one window."""
    first = ratelimit.consume(integration_id=limited.pk, count=3, per_minute=5)
    second = ratelimit.consume(integration_id=limited.pk, count=3, per_minute=5)
    assert first is None and second is not None
    key = next(ratelimit._redis().scan_iter(f"ops:alerts:rate:{limited.pk}:*"))
    assert int(ratelimit._redis().get(key)) == 6
    assert 0 < ratelimit._redis().ttl(key) <= ratelimit.WINDOW_SECONDS + 5


def _sample(text: str, name: str, **labels) -> float:
    """Sum of the samples of `name` whose labels include `labels` (counters are process-wide
    and accumulate across tests, so tests compare before and after)."""
    total = 0.0
    for match in re.finditer(name + r"\{([^}]*)\} ([0-9.e+]+)", text):
        if all(f'{key}="{value}"' in match.group(1) for key, value in labels.items()):
            total += float(match.group(2))
    return total


def test_metrics_count_accepted_and_rejected_by_reason(client, settings, post, make_integration):
    settings.METRICS_TOKEN = ""
    am = make_integration()
    ours = {"integration": str(am.pk), "kind": "alertmanager"}

    def scrape():
        text = client.get("/metrics").content.decode()
        return {
            "accepted": _sample(text, "opsportal_alerts_accepted_total", delivery="new", **ours),
            "invalid": _sample(
                text, "opsportal_alert_requests_rejected_total", reason="invalid_payload", **ours
            ),
            "unauthenticated": _sample(
                text,
                "opsportal_alert_requests_rejected_total",
                reason="authentication_failed",
                kind="alertmanager",
            ),
        }

    before = scrape()
    post("alertmanager", am_payload(am_alert("A"), am_alert("B")), am.raw_token)
    post("alertmanager", {"alerts": "x"}, am.raw_token)
    post("alertmanager", am_payload(), "bad-token")
    after = scrape()
    assert {key: after[key] - before[key] for key in after} == {
        "accepted": 2.0,
        "invalid": 1.0,
        "unauthenticated": 1.0,
    }
    text = client.get("/metrics").content.decode()
    assert "opsportal_alert_deliveries_pending 0.0" in text
    assert "opsportal_alert_processing_lag_seconds_gcount" in text
