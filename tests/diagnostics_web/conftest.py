"""Data for the diagnostics page tests: an incident on a service whose HTTP target is a real
local HTTP server (its answer set per test), and probe runs made the way workers make them.

Runs execute inline (DIAGNOSTICS_RUN_INLINE); in tests wrapped in a transaction the runs are
sent on commit, so `run_inline` executes the on-commit callbacks of the block it wraps.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from catalog.models import Target
from catalog.target_configs import validate_target_config
from diagnostics import runner, services
from diagnostics.models import Diagnosis, ProbeRun, Purpose
from diagnostics.probes.base import Check, ProbeResult, Status, Table
from incidents.services import incident_declare
from tests.factories import ServiceFactory

HEALTHY = {"status": "ok", "checks": {"database": {"status": "ok"}, "cache": {"status": "ok"}}}
BROKEN = {
    "status": "down",
    "checks": {
        "database": {"status": "down", "error": "connection refused"},
        "cache": {"status": "ok"},
        "queue": {"status": "down", "error": "no consumers"},
    },
}


@dataclass
class HealthServer:
    """A local HTTP server answering every GET with `status` and the JSON `document`."""

    url: str
    status: int = 200
    document: dict = field(default_factory=lambda: dict(HEALTHY))

    def healthy(self) -> None:
        self.status, self.document = 200, HEALTHY

    def broken(self) -> None:
        self.status, self.document = 503, BROKEN


@pytest.fixture
def health_server():
    state: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            server_state = state["server"]
            body = json.dumps(server_state.document).encode()
            self.send_response(server_state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # keep test output clean
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    state["server"] = HealthServer(url=f"http://127.0.0.1:{httpd.server_address[1]}")
    yield state["server"]
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Personas are made per test; the default PBKDF2 costs ~1 s each on a busy machine."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def inline_runs(settings):
    settings.DIAGNOSTICS_RUN_INLINE = True


@pytest.fixture
def run_inline(django_capture_on_commit_callbacks, inline_runs):
    """`with run_inline(): ...` runs the probes the block starts, before it ends."""

    def capture():
        return django_capture_on_commit_callbacks(execute=True)

    return capture


@pytest.fixture
def checkout(db):
    return ServiceFactory(name="Checkout", slug="checkout")


@pytest.fixture
def http_target(checkout, health_server):
    return Target.objects.create(
        service=checkout,
        name="api",
        kind="http",
        config=validate_target_config("http", {"url": f"{health_server.url}/health"}),
    )


@pytest.fixture
def incident(commander, checkout, http_target):
    """A P1 on checkout (symptom: service unavailable), commanded by the commander persona."""
    return incident_declare(
        title="Checkout 503",
        severity="P1",
        by=commander,
        commander=commander,
        services=[checkout],
        symptom="service_unavailable",
    )


def outcome(status: str, summary: str, *, checks=(), tables=(), raw=None) -> runner.Outcome:
    """A probe's outcome as the runner stores it (for rendering tests without a probe)."""
    result = ProbeResult(
        status=status, summary=summary, checks=list(checks), tables=list(tables), raw=raw
    )
    return runner.Outcome(
        status=status, summary=summary, result=result.as_dict(), error="", duration_ms=42
    )


def pods_table(*pods: str) -> Table:
    return Table(
        name="pods",
        title="Pods not ready",
        columns=["pod", "phase", "restarts"],
        rows=[[pod, "CrashLoopBackOff", 7] for pod in pods],
        key=("pod",),
    )


def restarts_check(value: int) -> Check:
    return Check(
        name="restarts",
        label="Container restarts (1 h)",
        value=value,
        status=Status.CRITICAL if value >= 5 else Status.OK,
        threshold="critical ≥ 5",
    )


@pytest.fixture
def finished_set(incident, http_target, commander):
    """`finished_set(n)`: a probe set of n runs on the incident, finished with stored outcomes.

    Run `bad_at` (the first by default) has `status` with a findings table, the others are ok;
    earlier calls' runs are the baseline, so from the second call on the runs show changes.
    """

    def make(count: int = 1, *, status: str = Status.CRITICAL, bad_at: int = 0) -> Diagnosis:
        planned = [
            services.PlannedRun(
                probe="http.health",
                target=http_target,
                params={},
                step_title=f"Step {n + 1}",
            )
            for n in range(count)
        ]
        diagnosis = services.diagnosis_start(
            title="Runbook: test set",
            purpose=Purpose.RUNBOOK,
            planned=planned,
            trigger="test",
            incident=incident,
            by=commander,
        )
        for index, run in enumerate(ProbeRun.objects.filter(diagnosis=diagnosis)):
            if index == bad_at and status != Status.OK:
                result = outcome(
                    status,
                    "2 of 5 pods ready; 2 in CrashLoopBackOff",
                    checks=[restarts_check(9)],
                    tables=[pods_table("web-1", "web-2")],
                    raw={"pods": 5, "ready": 2},
                )
            else:
                result = outcome(
                    Status.OK, "5 of 5 pods ready", checks=[restarts_check(0)], raw={"pods": 5}
                )
            services.run_finish(run, result)
        diagnosis.refresh_from_db()
        return diagnosis

    return make
