"""The runner: hard timeouts, exceptions as results, redaction and bounds on what is stored."""

from __future__ import annotations

import pytest

from catalog.models import Target
from catalog.target_configs import validate_target_config
from diagnostics import redaction, runner
from diagnostics.probes import registry
from diagnostics.probes.base import Probe, ProbeResult, Status, Table

from .conftest import RELEASE


def http_target(url, timeout_s=30.0):
    config = validate_target_config("http", {"url": url, "timeout_s": timeout_s})
    return Target(kind="http", name="hung", config=config)


def test_a_probe_that_ignores_its_timeout_is_cut_and_reported():
    outcome = runner.run_probe("test.hanging", http_target("http://127.0.0.1:1/"), {}, 0.3)
    assert outcome.status == Status.ERROR and outcome.timed_out
    assert outcome.error == "timed out after 0.3s"
    assert outcome.summary == "error: timed out after 0.3s"
    RELEASE.set()


def test_the_real_http_probe_against_a_silent_server_reports_the_timeout(silent_port):
    target = http_target(f"http://127.0.0.1:{silent_port}/health")
    probe = registry.get("http.health")
    outcome = runner.run_probe(probe, target, probe.validate_params({}), 0.5)
    assert outcome.status == Status.ERROR
    assert "timed out after 0.5s" in outcome.error


class Exploding(Probe):
    name = "test.exploding"
    kind = "http"
    title = "Raises"

    def run(self, target, params, timeout_s):
        raise KeyError("token=abc123secret in the traceback")


class Oversized(Probe):
    name = "test.oversized"
    kind = "http"
    title = "Too much output"

    def run(self, target, params, timeout_s):
        table = Table("rows", "Rows", ["n"], [[n] for n in range(1000)], key=("n",))
        return ProbeResult(
            status=Status.WARNING,
            summary="x" * 5000,
            tables=[table],
            raw={"blob": ["y" * 1000] * 200, "dsn": "postgres://u:pw@h/db"},
        )


class Wrong(Probe):
    name = "test.wrong"
    kind = "http"
    title = "Returns nonsense"

    def run(self, target, params, timeout_s):
        return {"status": "fine"}


@pytest.fixture
def odd_probes():
    for cls in (Exploding, Oversized, Wrong):
        registry.register(cls)
    yield
    for cls in (Exploding, Oversized, Wrong):
        registry._probes.pop(cls.name, None)


def test_an_unexpected_exception_is_an_error_result_with_secrets_redacted(odd_probes):
    outcome = runner.run_probe("test.exploding", http_target("http://x.invalid/"), {}, 5)
    assert outcome.status == Status.ERROR
    assert outcome.error == "KeyError: 'token=*** in the traceback'"


def test_results_are_bounded_before_they_are_stored(odd_probes):
    outcome = runner.run_probe("test.oversized", http_target("http://x.invalid/"), {}, 5)
    assert outcome.status == Status.WARNING
    assert len(outcome.summary) == 500
    [table] = outcome.result["tables"]
    assert len(table["rows"]) == redaction.MAX_ROWS and table["total_rows"] == 1000
    assert outcome.result["raw"]["truncated"] is True
    assert len(outcome.result["raw"]["text"]) == redaction.MAX_RAW_CHARS


def test_a_probe_returning_nonsense_is_reported_as_a_probe_bug(odd_probes):
    outcome = runner.run_probe("test.wrong", http_target("http://x.invalid/"), {}, 5)
    assert outcome.status == Status.ERROR
    assert outcome.error == "the probe returned no valid result (a bug in the probe)"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("postgres://app:s3cr3t@db:5432/x", "postgres://app:***@db:5432/x"),
        ("redis://:hunter2@cache:6379/0", "redis://:***@cache:6379/0"),
        ("host=db password=s3cr3t user=app", "host=db password=*** user=app"),
        ('{"api_key": "abcd1234"}', '{"api_key": ***}'),
        ("Authorization: Bearer abcdefghijkl", "Authorization: Bearer ***"),
        ("token opi_0123456789abcdef0123456789abcdef", "token ***"),
        ("slack xoxb-1234567890-abcdefghij", "slack ***"),
        ("plain text stays", "plain text stays"),
    ],
)
def test_redaction(text, expected):
    assert redaction.redact(text) == expected
