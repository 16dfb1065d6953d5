"""The production shape: gunicorn accepts, a real Celery worker groups.

Proves the nudge reaches the worker, and that with the broker down the endpoint still answers
202 and the sweeper processes everything once a worker can run.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager

import pytest
from django.db import connection

from alerts.models import Alert, AlertGroup, RawEvent
from ops_portal.celery import app
from tests.workers import ROOT, celery_worker

from .payloads import am_alert, am_payload

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def web_server(**env_extra):
    """gunicorn serving the app against the test database; yields its base URL."""
    db = connection.settings_dict
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DATABASE_POOL": "0",
        "ALERTS_PROCESS_INLINE": "0",
        "DJANGO_ALLOW_ASYNC_UNSAFE": "",
        **env_extra,
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "ops_portal.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/health", timeout=2)
                break
            except OSError as exc:
                if getattr(exc, "code", None):  # an HTTP answer (even 503) means it is up
                    break
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("gunicorn did not start") from exc
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def _post(url: str, token: str, body: dict) -> int:
    request = urllib.request.Request(
        url + "/api/integrations/alertmanager/",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def _wait_until(predicate, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def _storm(count: int) -> list[dict]:
    return [
        am_payload(am_alert(f"A{i}", severity="info"), am_alert(f"B{i}", severity="info"))
        for i in range(count)
    ]


def test_accepted_alerts_are_grouped_by_the_worker_the_web_nudges(make_integration, checkout):
    am = make_integration()
    with celery_worker("alerts") as worker, web_server(CELERY_QUEUE=worker.queue) as url:
        statuses = [_post(url, am.raw_token, body) for body in _storm(5)]
        assert statuses == [202] * 5
        assert _wait_until(lambda: not RawEvent.objects.filter(processed_at=None).exists())
    assert Alert.objects.count() == 10 and AlertGroup.objects.count() == 10


def test_with_the_broker_down_alerts_are_accepted_and_the_sweeper_groups_them_later(
    make_integration, checkout
):
    am = make_integration()
    with web_server(CELERY_BROKER_URL=UNREACHABLE_BROKER) as url:
        statuses = [_post(url, am.raw_token, body) for body in _storm(3)]
    assert statuses == [202] * 3
    assert RawEvent.objects.count() == 3
    assert RawEvent.objects.filter(processed_at=None).count() == 3  # nobody could be told
    assert AlertGroup.objects.count() == 0

    with celery_worker("alerts-sweep", env={"ALERTS_SWEEP_GRACE_SECONDS": "0"}) as worker:
        app.send_task("alerts.sweep", queue=worker.queue)
        assert _wait_until(lambda: not RawEvent.objects.filter(processed_at=None).exists())
    assert Alert.objects.count() == 6 and AlertGroup.objects.count() == 6
