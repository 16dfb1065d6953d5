"""Before/after health snapshots: run on start and on verify; a worse "after" blocks completion
until someone acknowledges it. Probes run inline here (DIAGNOSTICS_RUN_INLINE): the real HTTP
health probe against a local healthy endpoint, plus a scripted health probe the test steers."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from accounts.permissions import Role
from catalog.models import Target
from diagnostics.probes import registry
from diagnostics.probes.base import Probe, ProbeResult, Status
from maintenance import services
from maintenance.errors import MaintenanceError
from maintenance.models import Phase, WindowEventKind, WindowState
from tests.factories import ServiceFactory

from .support import plan, tick_all

pytestmark = pytest.mark.django_db

NEXT_STATUS = {"value": Status.OK}


class DiskProbe(Probe):
    """A health probe whose answer the test sets (stands in for a check that can regress)."""

    name = "test.disk_space"
    kind = "http"
    title = "Disk space"
    health = True

    def run(self, target, params, timeout_s):
        return ProbeResult(status=NEXT_STATUS["value"], summary=f"disk {NEXT_STATUS['value']}")


class _Healthy(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"status": "ok"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def healthy_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Healthy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/health"
    server.shutdown()
    server.server_close()


@pytest.fixture
def disk_probe(settings):
    settings.DIAGNOSTICS_RUN_INLINE = True
    NEXT_STATUS["value"] = Status.OK
    registry.register(DiskProbe)
    yield NEXT_STATUS
    registry._probes.pop(DiskProbe.name, None)


@pytest.fixture
def started(make_user, healthy_url, disk_probe, django_capture_on_commit_callbacks):
    commander = make_user(Role.COMMANDER)
    service = ServiceFactory(slug="checkout")
    Target.objects.create(service=service, name="web", kind="http", config={"url": healthy_url})
    window = plan(commander, [service])
    tick_all(window, commander, Phase.PRE)
    with django_capture_on_commit_callbacks(execute=True):
        services.window_start(window=window, by=commander)
    tick_all(window, commander, Phase.POST)
    window.refresh_from_db()
    return window, commander


def verify(window, by, capture):
    with capture(execute=True):
        services.window_verify(window=window, by=by)
    window.refresh_from_db()


def test_starting_takes_a_before_snapshot_of_the_services_health(started):
    window, _ = started
    before = window.before_snapshot
    assert before is not None and before.finished and before.status == Status.OK
    assert sorted(before.runs.values_list("probe", flat=True)) == ["http.health", "test.disk_space"]
    snapshot_events = window.events.filter(kind=WindowEventKind.SNAPSHOT)
    assert [e.data["phase"] for e in snapshot_events] == ["before"]


def test_an_after_snapshot_no_worse_lets_the_window_complete(
    started, django_capture_on_commit_callbacks
):
    window, commander = started
    verify(window, commander, django_capture_on_commit_callbacks)
    assert window.after_snapshot.finished
    services.window_complete(window=window, by=commander)
    window.refresh_from_db()
    assert window.state == WindowState.COMPLETED and window.regression_acknowledged_at is None


def test_a_worse_after_snapshot_blocks_completion_until_acknowledged(
    started, disk_probe, django_capture_on_commit_callbacks
):
    window, commander = started
    disk_probe["value"] = Status.CRITICAL
    verify(window, commander, django_capture_on_commit_callbacks)
    with pytest.raises(MaintenanceError) as caught:
        services.window_complete(window=window, by=commander)
    assert caught.value.code == "regression_unacknowledged"
    [worse] = caught.value.extra["worse"]
    assert (worse["probe"], worse["before"], worse["after"]) == (
        "test.disk_space",
        "ok",
        "critical",
    )
    after_event = window.events.filter(kind=WindowEventKind.SNAPSHOT, data__phase="after").get()
    assert "ok → critical" in after_event.body

    services.window_complete(window=window, by=commander, acknowledge_regression=True)
    window.refresh_from_db()
    assert window.state == WindowState.COMPLETED
    assert window.regression_acknowledged_by == commander


def test_completion_waits_for_a_running_after_snapshot(started, settings):
    window, commander = started
    settings.DIAGNOSTICS_RUN_INLINE = False  # the runs stay queued: nobody executes them
    services.window_verify(window=window, by=commander)
    window.refresh_from_db()
    with pytest.raises(MaintenanceError) as caught:
        services.window_complete(window=window, by=commander)
    assert caught.value.code == "snapshot_pending"
