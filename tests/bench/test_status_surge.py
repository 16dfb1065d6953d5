"""The status surge's setup, without a load run: its command line, its reading of the data
builder and the results, its verdict against the target, and the data it builds (small)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from django.utils import timezone

from bench import report, status_surge
from bench.errors import BenchError
from bench.load import LoadResult
from bench.runner import parse_args
from bench.status_surge import Measured
from bench.surge_data import Shape, build
from incidents.models import EventKind, Incident, TimelineEvent
from ops_portal.timeline import Visibility, registered_timelines, timeline_problems
from statuspage.models import UptimeDay
from statuspage.selectors import page_snapshot

SMALL = Shape(components=8, groups=2, grouped=4, internal=1, resolved=12)


def _result(rps: float, p99: float, errors: int = 0) -> LoadResult:
    return LoadResult(
        requests=int(rps * 2),
        seconds=2.0,
        requests_per_second=rps,
        p50_ms=p99 / 2,
        p99_ms=p99,
        errors=errors,
    )


# --- Command line -----------------------------------------------------------------------------


def test_the_surge_runs_with_50_clients_on_its_own_database_and_redis_by_default(monkeypatch):
    monkeypatch.delenv("SURGE_DATABASE_URL", raising=False)
    monkeypatch.delenv("SURGE_REDIS_URL", raising=False)
    args = parse_args(["--surge-only"])
    assert args.surge_only and not args.skip_surge
    assert args.surge_connections == 50
    assert args.surge_database_url.endswith("/ops_portal_bench_surge")
    assert args.surge_redis_url == "redis://127.0.0.1:6379/11"


def test_the_surge_database_can_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("SURGE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ops_s5_x")
    args = parse_args(["--skip-surge"])
    assert args.skip_surge
    assert args.surge_database_url.endswith("/ops_s5_x")


@pytest.mark.parametrize(
    "argv",
    [
        ["--surge-only", "--skip-surge"],
        ["--surge-only", "--storm-only"],
        ["--surge-only", "--fanout-only"],
        ["--surge-connections", "0"],
        ["--surge-database-url", "sqlite:///x.db"],
        ["--surge-redis-url", "memcached://127.0.0.1"],
    ],
)
def test_contradictory_or_bad_options_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        parse_args(argv)
    assert exit_.value.code == 2
    assert "error" in capsys.readouterr().err


def test_the_issue_endpoints_are_measured():
    assert status_surge.ENDPOINTS == ("/status/", "/api/v2/summary.json")


def test_the_web_runs_production_shaped_on_the_surge_servers(tmp_path):
    args = parse_args(
        [
            "--surge-database-url",
            "postgres://postgres@127.0.0.1:5432/ops_s5_x",
            "--surge-redis-url",
            "redis://127.0.0.1:6379/1",
        ]
    )
    env = status_surge.environment(args, tmp_path, 8123, tmp_path / "prom")
    assert env["DEBUG"] == "0" and env["WEB_CONCURRENCY"] == "2" and env["PORT"] == "8123"
    assert env["DATABASE_URL"].endswith("/ops_s5_x")
    assert env["REDIS_URL"] == env["CELERY_BROKER_URL"] == "redis://127.0.0.1:6379/1"
    assert env["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path / "prom")


# --- Reading the builder, verdict, results ---------------------------------------------------


def test_the_builders_json_line_is_found_among_the_shells_output():
    line = json.dumps({"shape": {}, "counts": {"components": 50}})
    output = f"53 objects imported automatically\n{line}\n"
    assert status_surge.parse_build_output(output)["counts"] == {"components": 50}


def test_a_builder_that_printed_no_json_stops_the_surge():
    with pytest.raises(BenchError, match="no JSON line"):
        status_surge.parse_build_output("Traceback ...\n{not json for us}\n")


def test_the_target_is_met_only_at_nine_tenths_of_the_baseline():
    baseline = _result(1000, 20)
    fast = Measured("/status/", 1000, _result(900, 30))
    slow = Measured("/api/v2/summary.json", 1000, _result(899, 30))
    assert fast.ratios(baseline) == (0.9, 1.5)
    assert fast.meets_target(baseline) and not slow.meets_target(baseline)
    text = status_surge.notes([fast, slow], baseline, [baseline, _result(950, 25)], 0.05)
    assert "MISSED (/status/ 0.90x, /api/v2/summary.json 0.90x)" in text


def test_errors_under_load_are_a_problem_but_a_missed_target_is_not():
    baseline = _result(1000, 20)
    assert Measured("/status/", 10, _result(100, 900)).problem() == ""
    assert "3 errors" in Measured("/status/", 10, _result(100, 900, errors=3)).problem()
    failed = Measured("/status/", failure="GET /status/ answered 500")
    assert failed.problem() == "GET /status/ answered 500"
    assert failed.as_json(baseline)["status"] == "failed"
    assert "FAILED: GET /status/ answered 500" in status_surge.table([failed], baseline)


def test_the_surge_section_is_merged_into_the_results_file(tmp_path: Path):
    path = tmp_path / "latest.json"
    report.write_json({"endpoints": ["http part"]}, path)
    report.merge_json("status_surge", {"endpoints": ["surge"]}, path)
    assert json.loads(path.read_text()) == {
        "endpoints": ["http part"],
        "status_surge": {"endpoints": ["surge"]},
    }
    # The HTTP part rewrites the file and keeps the surge's last figures.
    report.write_json({"endpoints": ["new http part"]}, path, keep=("status_surge",))
    assert json.loads(path.read_text())["status_surge"] == {"endpoints": ["surge"]}


def test_an_unreadable_results_file_is_replaced(tmp_path: Path):
    path = tmp_path / "latest.json"
    path.write_text('{"half written')
    report.merge_json("status_surge", {"ok": True}, path)
    assert json.loads(path.read_text()) == {"status_surge": {"ok": True}}


# --- The data ---------------------------------------------------------------------------------


def test_too_small_a_shape_is_refused():
    with pytest.raises(ValueError):
        Shape(components=5, grouped=2)
    with pytest.raises(ValueError):
        Shape(grouped=0)


@pytest.mark.django_db
def test_the_data_is_what_the_public_page_shows():
    now = timezone.now()
    counts = build(SMALL, now=now)
    assert counts["components"] == 8 and counts["active_incidents"] == 3
    snapshot = page_snapshot()
    assert len(snapshot.components.leaves) == 8
    assert len(snapshot.components.groups) == 2
    assert sum(len(g.components) for g in snapshot.components.groups) == 4
    assert {i.id for i in snapshot.unresolved} == {"INC-13", "INC-14", "INC-15"}
    assert snapshot.status.indicator == "major"
    assert len(snapshot.incidents) == 15
    assert [m.name for m in snapshot.active] == ["Database failover drill"]
    assert len(snapshot.upcoming) == 2
    assert all(len(u.bars) == 90 for u in snapshot.uptime.values())
    assert UptimeDay.objects.count() == counts["uptime_days"] == 8 * 90


@pytest.mark.django_db
def test_every_past_incident_has_two_or_three_public_updates_and_a_gapless_timeline():
    counts = build(SMALL, now=timezone.now())
    public = Counter(
        TimelineEvent.objects.filter(
            kind=EventKind.PUBLIC_UPDATE, visibility=Visibility.PUBLIC
        ).values_list("incident__number", flat=True)
    )
    past = [public[number] for number in range(1, SMALL.resolved + 1)]
    assert set(past) == {2, 3}
    assert sum(public.values()) == counts["public_updates"]
    assert Incident.objects.filter(resolved_at__isnull=True).count() == 3
    for timeline in registered_timelines():
        assert timeline_problems(timeline) == []
