"""Fixtures of the diagnostics service tests.

`scripted` probes are real plug-ins registered for the test (kind http, names `test.*`): they
return what the test scripts, so the run/set/timeline machinery can be checked exactly. The
probes themselves are tested against real peers in tests/diagnostics/probes/.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rest_framework import serializers

from catalog.models import Target
from diagnostics.probes import registry
from diagnostics.probes.base import Check, Probe, ProbeResult, ProbeUnreachable, Status, Table
from tests.factories import ServiceFactory

# What each scripted probe returns next, per target name: a ProbeResult or an exception.
SCRIPT: dict[str, object] = {}
RELEASE = threading.Event()


class ScriptedParams(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=10, default=5)


class ScriptedProbe(Probe):
    name = "test.scripted"
    kind = "http"
    title = "Scripted check"
    description = "Returns what the test scripted for the target."
    params_class = ScriptedParams
    health = True

    def run(self, target, params, timeout_s):
        scripted = SCRIPT.get(target.name, ProbeResult(status=Status.OK, summary="fine"))
        if isinstance(scripted, BaseException):
            raise scripted
        return scripted


class HangingProbe(Probe):
    name = "test.hanging"
    kind = "http"
    title = "Hangs until released"
    default_timeout_s = 0.5

    def run(self, target, params, timeout_s):
        RELEASE.wait(30)
        return ProbeResult(status=Status.OK, summary="released")


@pytest.fixture(autouse=True)
def scripted_probes():
    SCRIPT.clear()
    RELEASE.clear()
    added = [cls for cls in (ScriptedProbe, HangingProbe) if cls.name not in registry]
    for cls in added:
        registry.register(cls)
    yield SCRIPT
    RELEASE.set()
    for cls in added:
        registry._probes.pop(cls.name, None)


@pytest.fixture
def run_inline(settings):
    settings.DIAGNOSTICS_RUN_INLINE = True


class _Healthy(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"status": "ok", "checks": {"database": "ok"}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def healthy_url():
    """A real healthy HTTP endpoint, so the targets' real health probe (http.health) passes."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Healthy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/health"
    server.shutdown()
    server.server_close()


@pytest.fixture
def checkout(db, healthy_url):
    service = ServiceFactory(slug="checkout", name="Checkout")
    for name in ("web", "api"):
        Target.objects.create(service=service, name=name, kind="http", config={"url": healthy_url})
    return service


def result(status=Status.OK, summary="fine", *, rows=(), checks=()):
    return ProbeResult(
        status=status,
        summary=summary,
        checks=list(checks),
        tables=[Table("pods", "Pods", ["pod", "state"], [list(r) for r in rows], key=("pod",))],
    )


def check(name, value, status):
    return Check(name=name, label=name.replace("_", " "), value=value, status=status)


def unreachable(message):
    return ProbeUnreachable(message)


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Call a service and run its on-commit work (the inline "worker") before returning."""

    def call(function, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(*args, **kwargs)

    return call


@pytest.fixture
def silent_port():
    """A TCP server that accepts connections and never answers (a hung dependency)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(2)
    for conn in accepted:
        conn.close()
    server.close()
