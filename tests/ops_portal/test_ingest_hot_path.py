"""The alert-ingestion hot path: the lean WSGI handler and the integrations a process knows.

ops_portal/wsgi.py serves the ingestion POSTs through fewer middleware; they must answer exactly
as the full stack does. alerts/ingest.py skips the SELECT for a token its process has already
authenticated (PostgreSQL); a stale hint must never change an answer, store a delivery or leave
anything counted against the rate limit.
"""

from __future__ import annotations

import io
import json
import sys
import uuid

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from alerts import ingest, ratelimit
from alerts.models import Integration, RawEvent
from alerts.services import integration_create, integration_rotate_token, integration_set_enabled
from ops_portal import wsgi

PATH = "/api/integrations/alertmanager/"


def _body(name: str = "HighErrorRate", count: int = 1) -> bytes:
    alerts = []
    for index in range(count):
        labels = {"alertname": name, "service": "checkout", "instance": f"10.0.0.{index}:9100"}
        alerts.append(
            {
                "status": "firing",
                "labels": {**labels, "severity": "warning", "run": uuid.uuid4().hex},
                "annotations": {"summary": f"{name} on checkout"},
                "startsAt": "2026-11-29T00:43:35.613397975Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prom/graph",
            }
        )
    return json.dumps({"version": "4", "status": "firing", "alerts": alerts}).encode()


def _fresh(integration: Integration) -> Integration:
    """Ids come back in a new test database; counters of an earlier run may still be there."""
    if ratelimit.settings.REDIS_URL:
        client = ratelimit._redis()
        for key in client.scan_iter(f"ops:alerts:rate:{integration.pk}:*"):
            client.delete(key)
    return integration


@pytest.fixture
def integration(db):
    issued = integration_create(kind="alertmanager", name=f"hot-{uuid.uuid4().hex[:8]}")
    issued.integration.raw_token = issued.token
    return _fresh(issued.integration)


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    """No process-wide hints from other tests, and no Celery nudges."""
    ingest._known.clear()
    nudges = []
    monkeypatch.setattr(ingest, "nudge_worker", lambda: nudges.append(1))
    yield nudges
    ingest._known.clear()


@pytest.fixture
def wsgi_call():
    """Call a WSGI application in-process. Like Django's test client, keep request signals
    from closing the test's connection (it lives inside the test transaction)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)

    def call(app, body: bytes, token: str, *, content_type="application/json", host=None):
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": PATH,
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "HTTP_HOST": host or "127.0.0.1:8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "CONTENT_TYPE": content_type,
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_AUTHORIZATION": f"Bearer {token}",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        started = []
        chunks = app(environ, lambda status, headers, exc_info=None: started.append(status))
        try:
            content = b"".join(chunks)
        finally:
            chunks.close()
        status = started[0]
        return status, dict(chunks.items()), content

    yield call
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def post(client, token: str, body: bytes, path: str = PATH):
    return client.generic(
        "POST", path, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )


def _counted(integration: Integration) -> int:
    """Alerts counted against the integration's rate limit, over all windows."""
    client = ratelimit._redis()
    keys = list(client.scan_iter(f"ops:alerts:rate:{integration.pk}:*"))
    return sum(int(client.get(key) or 0) for key in keys)


# --- the lean WSGI handler ---------------------------------------------------------------------


def test_ingestion_posts_take_the_lean_handler_and_the_rest_the_full_stack():
    assert {
        "/api/integrations/alertmanager/",
        "/api/integrations/grafana/",
        "/api/integrations/generic/",
        "/v2/enqueue",
    } == wsgi.INGEST_PATHS
    assert wsgi.ingest_application is not wsgi.django_application


@pytest.mark.parametrize(
    "case",
    ["accepted", "replayed", "unknown token", "invalid json", "wrong type", "bad host", "invalid"],
)
def test_lean_handler_answers_exactly_like_the_full_stack(wsgi_call, integration, case):
    token = integration.raw_token
    answers = []
    for app in (wsgi.django_application, wsgi.application):
        body = _body()
        options = {}
        if case == "replayed":
            wsgi_call(app, body, token)
        elif case == "unknown token":
            token = "opi_" + "0" * 32
        elif case == "invalid json":
            body = b"{"
        elif case == "wrong type":
            options["content_type"] = "text/plain"
        elif case == "bad host":
            options["host"] = "evil.example"
        elif case == "invalid":
            body = b'{"alerts": 3}'
        answers.append(wsgi_call(app, body, token, **options))
    full, lean = answers
    assert lean[0] == full[0]
    assert lean[1] == full[1]  # every header, Content-Length and security headers included
    assert lean[2] == full[2]


# --- integrations the process knows (PostgreSQL) ------------------------------------------------


@pytest.fixture
def calls_to_select(monkeypatch):
    calls = []
    real = ingest._integration

    def counted(token, kind):
        calls.append(kind)
        return real(token, kind)

    monkeypatch.setattr(ingest, "_integration", counted)
    return calls


@pytest.mark.postgres
def test_a_known_token_is_accepted_without_the_select(client, integration, calls_to_select):
    assert post(client, integration.raw_token, _body("A")).status_code == 202
    assert post(client, integration.raw_token, _body("B")).status_code == 202
    assert post(client, integration.raw_token, _body("C")).status_code == 202
    assert calls_to_select == ["alertmanager"]
    assert RawEvent.objects.filter(integration=integration).count() == 3


@pytest.mark.postgres
def test_a_known_delivery_sent_again_is_replayed(client, integration):
    body = _body()
    assert post(client, integration.raw_token, _body("warm")).status_code == 202
    first = post(client, integration.raw_token, body)
    again = post(client, integration.raw_token, body)
    assert first.status_code == again.status_code == 202
    assert again["Idempotent-Replayed"] == "true" and not first.has_header("Idempotent-Replayed")
    assert RawEvent.objects.filter(integration=integration).count() == 2


@pytest.mark.postgres
@pytest.mark.redis
def test_disabled_after_it_was_known_is_a_403_with_nothing_stored_or_counted(client, integration):
    assert post(client, integration.raw_token, _body("A", count=2)).status_code == 202
    counted = _counted(integration)
    integration_set_enabled(integration=integration, enabled=False)
    response = post(client, integration.raw_token, _body("B", count=3))
    assert response.status_code == 403
    assert response.json()["type"] == "integration_disabled"
    assert RawEvent.objects.filter(integration=integration).count() == 1
    assert _counted(integration) == counted
    integration_set_enabled(integration=integration, enabled=True)
    assert post(client, integration.raw_token, _body("C")).status_code == 202


@pytest.mark.postgres
def test_rotated_after_it_was_known_stops_working_at_once(client, integration):
    old = integration.raw_token
    assert post(client, old, _body("A")).status_code == 202
    new = integration_rotate_token(integration=integration).token
    assert post(client, old, _body("B")).status_code == 401
    assert post(client, new, _body("C")).status_code == 202
    assert RawEvent.objects.filter(integration=integration).count() == 2


@pytest.mark.postgres
def test_a_known_token_of_another_kind_is_refused(client, integration):
    assert post(client, integration.raw_token, _body("A")).status_code == 202
    grafana = post(client, integration.raw_token, _body("B"), "/api/integrations/grafana/")
    assert grafana.status_code == 401


@pytest.mark.postgres
def test_invalid_payload_of_a_known_integration_is_a_400_unless_it_was_disabled(
    client, integration
):
    assert post(client, integration.raw_token, _body("A")).status_code == 202
    assert post(client, integration.raw_token, b'{"alerts": 3}').status_code == 400
    integration_set_enabled(integration=integration, enabled=False)
    assert post(client, integration.raw_token, b'{"alerts": 3}').status_code == 403


@pytest.mark.postgres
@pytest.mark.redis
def test_a_new_limit_applies_to_a_known_integration_at_once(client, integration):
    assert post(client, integration.raw_token, _body("A", count=2)).status_code == 202
    Integration.objects.filter(pk=integration.pk).update(rate_limit_per_minute=3)
    response = post(client, integration.raw_token, _body("B", count=2))
    assert response.status_code == 429  # 2 + 2 > 3 under the new limit
    assert response.has_header("Retry-After")
    assert RawEvent.objects.filter(integration=integration).count() == 1
    assert _counted(integration) == 4  # each request counted once, as without the hint


@pytest.mark.postgres
@pytest.mark.redis
def test_over_the_limit_a_known_integration_is_counted_once_per_request(client, db):
    issued = integration_create(
        kind="alertmanager", name=f"hot-{uuid.uuid4().hex[:8]}", rate_limit_per_minute=3
    )
    token, integration = issued.token, _fresh(issued.integration)
    assert post(client, token, _body("A", count=2)).status_code == 202
    assert post(client, token, _body("B", count=2)).status_code == 429
    assert post(client, token, _body("C", count=2)).status_code == 429
    assert _counted(integration) == 6
    assert RawEvent.objects.filter(integration=integration).count() == 1
