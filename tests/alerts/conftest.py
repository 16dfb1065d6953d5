import json

import pytest

from alerts.services import integration_create
from tests.factories import ServiceFactory

PATHS = {
    "alertmanager": "/api/integrations/alertmanager/",
    "grafana": "/api/integrations/grafana/",
    "generic": "/api/integrations/generic/",
    "pagerduty": "/v2/enqueue",
}


@pytest.fixture(autouse=True)
def _process_inline(settings):
    """Fold deliveries inside the request so each test sees the result at once; the deferred
    path (worker, sweeper, broker down) has its own tests that turn this off."""
    settings.ALERTS_PROCESS_INLINE = True


@pytest.fixture
def checkout(db):
    return ServiceFactory(slug="checkout", name="Checkout")


@pytest.fixture
def make_integration(db):
    def make(kind="alertmanager", name=None, **kwargs):
        issued = integration_create(kind=kind, name=name or f"{kind}-test", **kwargs)
        issued.integration.raw_token = issued.token
        return issued.integration

    return make


@pytest.fixture
def post(client):
    """POST JSON to an ingestion endpoint with the integration's token."""

    def send(kind, payload, token=None, *, headers=None, raw=None, content_type="application/json"):
        extra = {}
        if token and kind != "pagerduty":
            extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        for name, value in (headers or {}).items():
            extra["HTTP_" + name.upper().replace("-", "_")] = value
        body = raw if raw is not None else json.dumps(payload)
        return client.generic("POST", PATHS[kind], body, content_type=content_type, **extra)

    return send
