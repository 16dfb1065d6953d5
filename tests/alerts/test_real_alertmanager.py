"""A real Alertmanager (Debian's prometheus-alertmanager 0.25) configured with nothing but our
URL and an integration token opens an incident here, and resolves its alert group when the
alert resolves."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from alerts.models import AlertGroup, GroupStatus
from incidents.models import Incident
from tests.conftest import ALERTMANAGER

pytestmark = [pytest.mark.alertmanager, pytest.mark.django_db(transaction=True)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def alertmanager(tmp_path, live_server, make_integration, checkout):
    """Alertmanager routing everything to the portal; yields its API base URL."""
    integration = make_integration(name="prometheus")
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        json.dumps(  # YAML is a superset of JSON
            {
                "route": {
                    "receiver": "portal",
                    "group_by": ["alertname", "service"],
                    "group_wait": "100ms",
                    "group_interval": "1s",
                    "repeat_interval": "1h",
                },
                "receivers": [
                    {
                        "name": "portal",
                        "webhook_configs": [
                            {
                                "url": f"{live_server.url}/api/integrations/alertmanager/",
                                "send_resolved": True,
                                "http_config": {
                                    "authorization": {
                                        "type": "Bearer",
                                        "credentials": integration.raw_token,
                                    }
                                },
                            }
                        ],
                    }
                ],
            }
        )
    )
    port = _free_port()
    process = subprocess.Popen(
        [
            ALERTMANAGER,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until(lambda: _get(base + "/-/ready") == 200, 20, "alertmanager did not start")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except OSError:
        return 0


def _wait_until(predicate, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(message)


def _send_alert(base: str, *, ends_at: datetime | None = None) -> None:
    """Post an alert the way Prometheus does (Alertmanager API v2)."""
    alert = {
        "labels": {"alertname": "HighErrorRate", "service": "checkout", "severity": "critical"},
        "annotations": {"summary": "checkout 5xx > 5%"},
        "generatorURL": "http://prometheus/graph?g0.expr=rate",
    }
    if ends_at is not None:
        alert["endsAt"] = ends_at.isoformat()
    request = urllib.request.Request(
        base + "/api/v2/alerts",
        data=json.dumps([alert]).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200


def test_real_alertmanager_opens_and_resolves(alertmanager):
    _send_alert(alertmanager)
    _wait_until(lambda: Incident.objects.exists(), 20, "no incident was opened")
    incident = Incident.objects.get()
    assert incident.title == "checkout 5xx > 5%" and incident.severity == "P1"
    group = AlertGroup.objects.get()
    assert group.status == GroupStatus.FIRING and group.labels["alertname"] == "HighErrorRate"

    _send_alert(alertmanager, ends_at=datetime.now(UTC) - timedelta(seconds=1))
    _wait_until(
        lambda: AlertGroup.objects.get().status == GroupStatus.RESOLVED,
        20,
        "the resolved notification never arrived",
    )
    assert AlertGroup.objects.count() == 1  # the resolve folded into the same group
    # The group's status is stored first and the incident is told in the next step (it may
    # run a moment later on a busy machine): wait for it rather than race it.
    _wait_until(
        lambda: incident.events.filter(data__change="all_resolved").exists(),
        20,
        "the incident was never told that all its alerts resolved",
    )
