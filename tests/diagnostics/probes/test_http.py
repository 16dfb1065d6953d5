"""`http.health` against real HTTP(S) servers on 127.0.0.1 (tests/diagnostics/peers/http_peers).

Failures to connect go through the runner, as in production, so the error text asserted is
the one people see. The development outbound policy is set explicitly (loopback allowed); one
test checks the production policy refuses the same URL.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from rest_framework import serializers

from catalog.models import Target
from catalog.target_configs import validate_target_config
from diagnostics.probes import registry
from diagnostics.probes.base import ProbeConfigError, Status
from diagnostics.runner import run_probe
from tests.diagnostics.peers.http_peers import PeerServer, Reply, closed_port, issue_certificate

OUR_HEALTHY = {
    "status": "healthy",
    "timestamp": "2025-06-01T12:00:00+00:00",
    "checks": {
        "database": {"status": "ok", "vendor": "postgresql", "latency_ms": 1.2},
        "cache": {"status": "ok", "latency_ms": 0.4},
        "broker": {"status": "ok", "transport": "redis", "last_heartbeat_age_s": 3.0},
    },
}
OUR_UNHEALTHY = {
    "status": "unhealthy",
    "timestamp": "2025-06-01T12:00:00+00:00",
    "checks": {
        "database": {"status": "down", "error": "OperationalError", "latency_ms": 5001.0},
        "cache": {"status": "ok", "latency_ms": 0.4},
        "broker": {"status": "unknown", "reason": "database unavailable"},
    },
}


@pytest.fixture(autouse=True)
def development_policy(settings):
    settings.DJANGO_ENV = "development"
    settings.OUTBOUND_ALLOWED_NETWORKS = []


@pytest.fixture
def probe():
    return registry.get("http.health")


def http_target(url, **config):
    return Target(
        kind="http", name="web", config=validate_target_config("http", {"url": url, **config})
    )


def run(probe, target, params=None, timeout_s=10.0):
    return probe.run(target, probe.validate_params(params or {}), timeout_s)


def checks_by_name(result):
    return {check.name: check for check in result.checks}


def test_a_healthy_endpoint_reports_its_checks_as_a_table(probe):
    with PeerServer({"/health": Reply(200, OUR_HEALTHY)}) as peer:
        result = run(probe, http_target(peer.url("/health")))

    assert result.status == Status.OK
    checks = checks_by_name(result)
    assert checks["status_code"].value == 200
    assert checks["status_code"].threshold == "expected 200"
    assert checks["reported_status"].value == "healthy"
    assert checks["failing_checks"].value == 0
    assert checks["content_type"].value == "application/json"
    assert checks["response_bytes"].value == len(json.dumps(OUR_HEALTHY).encode())
    assert checks["latency_ms"].threshold == "warning ≥ 1000 ms, critical ≥ 5000 ms"
    (table,) = result.tables
    assert table.name == "health_checks"
    assert table.columns == ["check", "status", "reported", "detail"]
    assert table.key == ("check",)
    assert table.rows == [
        ["database", "ok", "ok", "vendor=postgresql, latency_ms=1.2"],
        ["cache", "ok", "ok", "latency_ms=0.4"],
        ["broker", "ok", "ok", "transport=redis, last_heartbeat_age_s=3.0"],
    ]
    assert result.summary.startswith("HTTP 200 in ")
    assert result.summary.endswith(" ms; all 3 reported checks ok")
    assert result.raw["status_code"] == 200
    assert result.raw["address"] == "127.0.0.1"


def test_a_503_with_a_failing_check_is_critical_and_names_it(probe):
    with PeerServer({"/health": Reply(503, OUR_UNHEALTHY)}) as peer:
        result = run(probe, http_target(peer.url("/health")))

    assert result.status == Status.CRITICAL
    checks = checks_by_name(result)
    assert checks["status_code"].value == 503
    assert checks["status_code"].status == Status.CRITICAL
    assert checks["reported_status"].status == Status.CRITICAL
    assert checks["failing_checks"].value == 2
    assert result.tables[0].rows == [
        ["database", "critical", "down", "OperationalError, latency_ms=5001.0"],
        ["cache", "ok", "ok", "latency_ms=0.4"],
        ["broker", "warning", "unknown", "database unavailable"],
    ]
    assert result.summary.startswith("HTTP 503 (expected 200) in ")
    assert result.summary.endswith("; failing checks: database (down), broker (unknown)")


def test_a_degraded_dependency_on_a_200_is_a_warning(probe):
    degraded = {
        "status": "degraded",
        "checks": {
            "database": {"status": "ok"},
            "broker": {"status": "degraded", "worker": "heartbeat overdue"},
        },
    }
    with PeerServer({"/health": Reply(200, degraded)}) as peer:
        result = run(probe, http_target(peer.url("/health")))

    assert result.status == Status.WARNING
    assert checks_by_name(result)["status_code"].status == Status.OK
    assert result.tables[0].rows[1] == ["broker", "warning", "degraded", "worker=heartbeat overdue"]
    assert result.summary.endswith("; failing checks: broker (degraded)")


def test_spring_boot_components_are_parsed_with_nested_names(probe):
    actuator = {
        "status": "DOWN",
        "components": {
            "db": {
                "status": "UP",
                "components": {
                    "primary": {"status": "UP", "details": {"database": "PostgreSQL"}},
                    "replica": {"status": "DOWN", "details": {"error": "Connection refused"}},
                },
            },
            "diskSpace": {"status": "UP", "details": {"total": 100, "free": 40}},
            "ping": {"status": "UP"},
        },
    }
    with PeerServer({"/actuator/health": Reply(503, actuator)}) as peer:
        result = run(probe, http_target(peer.url("/actuator/health"), expected_status=503))

    assert result.status == Status.CRITICAL
    checks = checks_by_name(result)
    assert checks["status_code"].status == Status.OK  # 503 was what we were told to expect
    assert checks["reported_status"].value == "DOWN"
    assert result.tables[0].rows == [
        ["db", "ok", "UP", ""],
        ["db.primary", "ok", "UP", "database=PostgreSQL"],
        ["db.replica", "critical", "DOWN", "error=Connection refused"],
        ["diskSpace", "ok", "UP", "total=100, free=40"],
        ["ping", "ok", "UP", ""],
    ]
    assert result.summary.endswith("; failing checks: db.replica (DOWN)")


def test_microprofile_and_ietf_check_shapes_are_parsed(probe):
    microprofile = {
        "status": "UP",
        "checks": [
            {"name": "kafka", "status": "UP", "data": {"brokers": 3}},
            {"name": "cache", "status": "UP"},
        ],
    }
    ietf = {
        "status": "warn",
        "checks": {
            "postgres:connections": [{"componentId": "db1", "status": "warn", "observedValue": 95}],
            "uptime": "pass",
        },
    }
    routes = {"/mp": Reply(200, microprofile), "/ietf": Reply(200, ietf)}
    with PeerServer(routes) as peer:
        mp_result = run(probe, http_target(peer.url("/mp")))
        ietf_result = run(probe, http_target(peer.url("/ietf")))

    assert mp_result.status == Status.OK
    assert mp_result.tables[0].rows == [
        ["kafka", "ok", "UP", "brokers=3"],
        ["cache", "ok", "UP", ""],
    ]
    assert ietf_result.status == Status.WARNING
    assert ietf_result.tables[0].rows == [
        ["postgres:connections", "warning", "warn", "componentId=db1, observedValue=95"],
        ["uptime", "ok", "pass", ""],
    ]


def test_a_plain_text_body_gives_no_checks_table(probe):
    with PeerServer({"/ping": Reply(200, "pong")}) as peer:
        result = run(probe, http_target(peer.url("/ping")))

    assert result.status == Status.OK
    assert result.tables == []
    assert checks_by_name(result)["content_type"].value == "text/plain; charset=utf-8"
    assert result.warnings == []


def test_missing_expected_body_text_is_critical(probe):
    with PeerServer({"/": Reply(200, "<html>maintenance page</html>")}) as peer:
        result = run(probe, http_target(peer.url("/"), body_contains="Welcome"))

    assert result.status == Status.CRITICAL
    check = checks_by_name(result)["body_contains"]
    assert (check.value, check.status, check.threshold) == (
        "missing",
        Status.CRITICAL,
        "must contain 'Welcome'",
    )
    assert result.summary.endswith("; body does not contain 'Welcome'")


def test_present_expected_body_text_is_ok(probe):
    with PeerServer({"/": Reply(200, "<html>Welcome!</html>")}) as peer:
        result = run(probe, http_target(peer.url("/"), body_contains="Welcome"))

    assert result.status == Status.OK
    assert checks_by_name(result)["body_contains"].value == "found"


def test_a_redirect_is_reported_not_followed(probe):
    routes = {
        "/": Reply(302, headers={"Location": "/login?next=/&token=abc"}),
        "/login": Reply(200, "login"),
    }
    with PeerServer(routes) as peer:
        result = run(probe, http_target(peer.url("/")))

    assert result.status == Status.CRITICAL
    assert checks_by_name(result)["status_code"].value == 302
    assert "(expected 200)" in result.summary
    assert result.summary.endswith("; redirect to /login not followed")  # query dropped
    assert result.raw["redirect_location"] == "/login"
    assert [seen.path for seen in peer.requests] == ["/"]


def test_head_requests_check_the_status_only(probe):
    with PeerServer({"/health": Reply(200, OUR_HEALTHY)}) as peer:
        result = run(probe, http_target(peer.url("/health"), method="HEAD", body_contains="ok"))

    assert result.status == Status.OK
    assert peer.requests[0].method == "HEAD"
    assert checks_by_name(result)["response_bytes"].value == 0
    assert result.warnings == [
        "body_contains is ignored with method HEAD: the response has no body"
    ]


def test_latency_above_the_threshold_warns(probe):
    with PeerServer({"/slowish": Reply(200, "ok", delay_s=0.05)}) as peer:
        result = run(
            probe,
            http_target(peer.url("/slowish")),
            {"latency_warning_ms": 20, "latency_critical_ms": 60_000},
        )

    assert result.status == Status.WARNING
    latency = checks_by_name(result)["latency_ms"]
    assert latency.status == Status.WARNING
    assert latency.value >= 50
    assert latency.threshold == "warning ≥ 20 ms, critical ≥ 60000 ms"


def test_a_slow_server_is_an_error_timed_out(probe):
    with PeerServer({"/health": Reply(200, "late", delay_s=30)}) as peer:
        outcome = run_probe(probe, http_target(peer.url("/health"), timeout_s=0.5), {}, 10.0)

    assert outcome.status == Status.ERROR
    assert outcome.error == f"timed out after 0.5s waiting for 127.0.0.1:{peer.port}"
    assert outcome.timed_out is False  # our client timeout fired, not the runner's cut


def test_the_runner_timeout_bounds_the_request_when_shorter(probe):
    with PeerServer({"/health": Reply(200, "late", delay_s=30)}) as peer:
        outcome = run_probe(probe, http_target(peer.url("/health"), timeout_s=30), {}, 0.4)

    assert outcome.status == Status.ERROR
    assert outcome.error.startswith("timed out after 0.4s")


def test_a_closed_port_is_an_error_connection_refused(probe):
    with closed_port() as port:
        outcome = run_probe(probe, http_target(f"http://127.0.0.1:{port}/health"), {}, 5.0)

    assert outcome.status == Status.ERROR
    assert outcome.error == f"connection refused: 127.0.0.1:{port}"
    assert outcome.summary == f"error: connection refused: 127.0.0.1:{port}"


def test_production_policy_refuses_loopback_targets(probe, settings):
    settings.DJANGO_ENV = "production"
    target = http_target("http://127.0.0.1:8000/health")

    with pytest.raises(ProbeConfigError, match=re.escape("127.0.0.1 is a loopback address")):
        run(probe, target)
    outcome = run_probe(probe, target, {}, 5.0)
    assert outcome.status == Status.ERROR
    assert outcome.error.startswith("refused by the outbound policy: 127.0.0.1 is a loopback")


def test_production_policy_with_the_range_allow_listed_probes_it(probe, settings):
    settings.DJANGO_ENV = "production"
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with PeerServer({"/health": Reply(200, OUR_HEALTHY)}) as peer:
        result = run(probe, http_target(peer.url("/health")))

    assert result.status == Status.OK


# --- TLS ------------------------------------------------------------------------------------


def expiring_in(days, hours=1):
    return datetime.now(UTC).replace(microsecond=0) + timedelta(days=days, hours=hours)


@pytest.mark.parametrize(
    ("days", "status"), [(60, Status.OK), (10, Status.WARNING), (3, Status.CRITICAL)]
)
def test_tls_expiry_is_reported_in_whole_days(probe, tmp_path, days, status):
    issued = issue_certificate(tmp_path, not_after=expiring_in(days))
    with PeerServer({"/health": Reply(200, OUR_HEALTHY)}, tls=issued.server_context()) as peer:
        result = run(probe, http_target(peer.url("/health"), verify_tls=False))

    check = checks_by_name(result)["tls_days_left"]
    assert check.value == days
    assert check.status == status
    assert check.threshold == "warning < 21 days, critical < 7 days"
    assert result.status == status
    assert result.summary.endswith(f"; TLS certificate expires in {days} days")
    assert result.raw["tls"]["not_after"] == issued.not_after.isoformat()
    assert result.raw["tls"]["days_left"] == days


def test_tls_thresholds_are_params(probe, tmp_path):
    issued = issue_certificate(tmp_path, not_after=expiring_in(10))
    with PeerServer({"/": Reply(200, "ok")}, tls=issued.server_context()) as peer:
        result = run(
            probe,
            http_target(peer.url("/"), verify_tls=False),
            {"tls_expiry_warning_days": 30, "tls_expiry_critical_days": 14},
        )

    assert checks_by_name(result)["tls_days_left"].status == Status.CRITICAL


def test_an_expired_certificate_is_critical_when_verification_is_off(probe, tmp_path):
    issued = issue_certificate(tmp_path, not_after=expiring_in(-3, hours=-1))
    with PeerServer({"/": Reply(200, "ok")}, tls=issued.server_context()) as peer:
        result = run(probe, http_target(peer.url("/"), verify_tls=False))

    assert result.status == Status.CRITICAL
    assert checks_by_name(result)["tls_days_left"].value == -4
    assert result.summary.endswith("; TLS certificate expired 4 days ago")


def test_an_untrusted_certificate_is_an_error_when_verification_is_on(probe, tmp_path):
    issued = issue_certificate(tmp_path, dns_names=("localhost",))
    with PeerServer({"/": Reply(200, "ok")}, tls=issued.server_context()) as peer:
        outcome = run_probe(probe, http_target(peer.url("/", host="localhost")), {}, 5.0)

    assert outcome.status == Status.ERROR
    assert outcome.error.startswith(f"TLS certificate rejected by localhost:{peer.port}: ")


# --- params ---------------------------------------------------------------------------------


def test_default_params(probe):
    assert probe.validate_params({}) == {
        "latency_warning_ms": 1000,
        "latency_critical_ms": 5000,
        "tls_expiry_warning_days": 21,
        "tls_expiry_critical_days": 7,
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"latency_warning_ms": 500, "latency_critical_ms": 100}, "latency_critical_ms"),
        (
            {"tls_expiry_warning_days": 5, "tls_expiry_critical_days": 10},
            "tls_expiry_critical_days",
        ),
    ],
)
def test_critical_thresholds_must_be_beyond_warning(probe, params, field):
    with pytest.raises(serializers.ValidationError) as invalid:
        probe.validate_params(params)

    assert field in invalid.value.detail


def test_the_probe_is_registered_as_a_health_probe(probe):
    assert probe.kind == "http"
    assert probe.health is True
    assert probe in registry.health_probes("http")
