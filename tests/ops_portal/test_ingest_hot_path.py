"""The alert-ingestion hot path: the lean WSGI handler.

ops_portal/wsgi.py serves the ingestion POSTs through fewer middleware; they must answer exactly
as the full stack does.
"""

from __future__ import annotations

import io
import json
import sys
import uuid

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from alerts import ingest
from alerts.services import integration_create
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


@pytest.fixture
def integration(db):
    issued = integration_create(kind="alertmanager", name=f"hot-{uuid.uuid4().hex[:8]}")
    issued.integration.raw_token = issued.token
    return issued.integration


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    """No Celery nudges."""
    nudges = []
    monkeypatch.setattr(ingest, "nudge_worker", lambda: nudges.append(1))
    return nudges


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
