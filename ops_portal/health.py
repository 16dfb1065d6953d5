"""`GET /health`: database (down → 503), cache and broker (down → 200, "degraded").

Load balancers and Kubernetes probes call this without credentials, so it reveals states and
latencies only, never hostnames or error text that could carry a DSN.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .models import WorkerHeartbeat

OK, DEGRADED, DOWN = "ok", "degraded", "down"


def _timed(check: Callable[[], dict]) -> dict:
    started = time.perf_counter()
    try:
        result = check()
    except Exception as exc:  # any failure of a dependency is a health finding, not a 500
        result = {"status": DOWN, "error": type(exc).__name__}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def check_database() -> dict:
    connection = connections[settings.HEALTH_DATABASE_ALIAS]
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"status": OK, "vendor": connection.vendor}


def check_cache() -> dict:
    key = f"health:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=5)
    value = cache.get(key)
    cache.delete(key)
    return {"status": OK if value == "1" else DEGRADED}


def _broker_reachable() -> str:
    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem://"):
        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        folder.mkdir(parents=True, exist_ok=True)
        return "filesystem"
    if url.startswith(("redis://", "rediss://")):
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        try:
            client.ping()
        finally:
            client.close()
        return "redis"
    return url.split("://", 1)[0]


def check_broker() -> dict:
    transport = _broker_reachable()
    last = WorkerHeartbeat.objects.order_by("-last_seen").values_list("last_seen", flat=True)
    last_seen = last.first()
    result: dict = {"status": OK, "transport": transport}
    if last_seen is None:
        result.update(status=DEGRADED, worker="no heartbeat yet")
        return result
    age = (timezone.now() - last_seen).total_seconds()
    result["last_heartbeat_age_s"] = round(age, 1)
    if timedelta(seconds=age) > timedelta(seconds=3 * settings.WORKER_HEARTBEAT_SECONDS):
        result.update(status=DEGRADED, worker="heartbeat overdue")
    return result


@never_cache
@require_GET
def health(request):
    checks = {"database": _timed(check_database), "cache": _timed(check_cache)}
    # The broker check reads heartbeats from the database; skip it when the database is down.
    if checks["database"]["status"] == OK:
        checks["broker"] = _timed(check_broker)
    else:
        checks["broker"] = {"status": "unknown", "reason": "database unavailable"}

    if checks["database"]["status"] != OK:
        status, code = "unhealthy", 503
    elif any(check["status"] != OK for check in checks.values()):
        status, code = "degraded", 200
    else:
        status, code = "healthy", 200
    body = {"status": status, "timestamp": timezone.now().isoformat(), "checks": checks}
    return JsonResponse(body, status=code)
