"""Alert groups for the page tests are made the real way: a payload POSTed to the ingestion
endpoint with the integration's token, folded and routed inline (ALERTS_PROCESS_INLINE)."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.test import Client

from alerts import ratelimit
from alerts.models import AlertGroup
from tests.alerts import conftest as alerts_conftest
from tests.alerts.payloads import am_alert, am_payload, generic_alert

# The ingestion fixtures are the alert tests' own: one definition, shared by name.
PATHS = alerts_conftest.PATHS
_process_inline = alerts_conftest._process_inline
checkout = alerts_conftest.checkout
make_integration = alerts_conftest.make_integration


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate-limit windows are per integration id, and SQLite reuses ids after a rolled-back
    test: start every test with empty counters so earlier tests' alerts do not count."""
    cache.clear()
    if ratelimit.settings.REDIS_URL:
        client = ratelimit._redis()
        for key in client.scan_iter("ops:alerts:rate:*"):
            client.delete(key)


@pytest.fixture
def send():
    """POST a payload to an ingestion endpoint (its own client: no session involved)."""
    sender = Client()

    def post(integration, payload):
        headers = {}
        if integration.kind != "pagerduty":
            headers["HTTP_AUTHORIZATION"] = f"Bearer {integration.raw_token}"
        response = sender.generic(
            "POST",
            PATHS[integration.kind],
            json.dumps(payload),
            content_type="application/json",
            **headers,
        )
        assert response.status_code == 202, response.content
        return response

    return post


@pytest.fixture
def prom(make_integration):
    return make_integration("alertmanager", name="Prometheus prod")


@pytest.fixture
def hooks(make_integration):
    return make_integration("generic", name="Deploy hooks")


@pytest.fixture
def group(send, prom, checkout):
    """A firing P1 group on checkout with an incident opened for it."""
    send(prom, am_payload(am_alert("HighErrorRate", service="checkout", severity="critical")))
    return AlertGroup.objects.get()


@pytest.fixture
def fire_generic(send, hooks):
    def fire(key, **fields):
        send(hooks, generic_alert(key, **fields))
        return AlertGroup.objects.get(dedup_key=key, integration=hooks)

    return fire
