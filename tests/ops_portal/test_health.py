"""/health: 200 healthy, 200 degraded when cache/broker/worker are not, 503 without a database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connections
from django.test import override_settings
from django.utils import timezone

from ops_portal.services import heartbeat_record
from ops_portal.tasks import record_heartbeat

pytestmark = pytest.mark.django_db


def test_healthy_when_database_cache_and_a_fresh_worker_heartbeat(client):
    heartbeat_record(worker="worker@test")
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert set(body["checks"]) == {"database", "cache", "broker"}
    assert all(check["status"] == "ok" for check in body["checks"].values())
    assert body["checks"]["database"]["vendor"] == settings.DATABASE_VENDOR
    assert "timestamp" in body
    assert "no-cache" in response["Cache-Control"]


def test_degraded_but_200_without_any_worker_heartbeat(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["broker"]["worker"] == "no heartbeat yet"


def test_degraded_when_heartbeat_is_overdue(client):
    stale = timezone.now() - timedelta(seconds=4 * settings.WORKER_HEARTBEAT_SECONDS)
    heartbeat_record(worker="worker@test", now=stale)
    body = client.get("/health").json()
    assert body["status"] == "degraded"
    assert body["checks"]["broker"]["worker"] == "heartbeat overdue"


def test_heartbeat_task_records_the_worker(db):
    record_heartbeat.apply()
    body_seen = timezone.now() - timedelta(seconds=5)
    from ops_portal.models import WorkerHeartbeat

    assert WorkerHeartbeat.objects.get().last_seen > body_seen


def test_unreachable_broker_is_degraded_not_down(client):
    heartbeat_record(worker="worker@test")
    # Port 9 on loopback: nothing listens there, so the connection is refused at once.
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:9/0"):
        body = client.get("/health").json()
    assert client.get("/health").status_code == 200
    assert body["status"] == "degraded"
    assert body["checks"]["broker"]["status"] == "down"
    assert body["checks"]["broker"]["error"] == "ConnectionError"


@pytest.mark.redis
def test_redis_broker_and_cache_are_checked_for_real(client):
    heartbeat_record(worker="worker@test")
    body = client.get("/health").json()
    assert body["checks"]["broker"]["transport"] == "redis"
    assert body["checks"]["cache"]["status"] == "ok"
    assert "RedisCache" in settings.CACHES["default"]["BACKEND"]


@pytest.fixture
def unreachable_database(django_db_blocker):
    """A real connection alias pointing at a closed port (no mocks): connecting fails for real."""
    alias = "unreachable"
    config = {
        **settings.DATABASES["default"],
        "ENGINE": "django.db.backends.postgresql",
        "HOST": "127.0.0.1",
        "PORT": "9",  # nothing listens on the discard port: connection refused at once
        "NAME": "nowhere",
        "USER": "nobody",
        "OPTIONS": {"connect_timeout": 2},
        "CONN_MAX_AGE": 0,
        "TEST": {},
    }
    configured = connections.configure_settings(
        {"default": settings.DATABASES["default"], alias: config}
    )
    connections.settings[alias] = configured[alias]
    try:
        with django_db_blocker.unblock(), override_settings(HEALTH_DATABASE_ALIAS=alias):
            yield alias
    finally:
        if hasattr(connections._connections, alias):
            connections[alias].close()
            delattr(connections._connections, alias)
        del connections.settings[alias]


def test_503_when_the_database_is_unreachable(client, unreachable_database):
    response = client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["checks"]["database"]["status"] == "down"
    assert body["checks"]["database"]["error"] == "OperationalError"
    assert body["checks"]["broker"]["status"] == "unknown"
    # Nothing that could carry a DSN or host leaks out.
    assert "127.0.0.1" not in response.content.decode()
