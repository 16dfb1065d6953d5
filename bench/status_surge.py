"""The status surge: the public status page read by 50 clients at once, as on an outage day.

Issue 9's performance promise: the page and its JSON are served from the cache, fast enough
that a surge of readers costs about what a trivial view does. On a scratch PostgreSQL database
holding a page with a long history (bench/surge_data.py: 50 components, 1,000 past incidents,
3 active ones, maintenance, 90 days of uptime) and a Redis database of its own, it starts the
Procfile's `web` line (WEB_CONCURRENCY=2) and the bare Django baseline (ARCHITECTURE.md §7),
then loads each endpoint with the same client after a warm-up that fills the cache: baseline,
every endpoint, baseline again. Reported per endpoint: req/s and p99 as ratios to the faster
baseline run, against the target (>= 0.9x the baseline's req/s). Missing the target is
reported, not an error; an endpoint that fails or answers errors is. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench import cpu, portal, report, storm_db
from bench.errors import BenchError
from bench.load import LoadResult, Target, choose_client, fetch
from bench.servers import (
    BASELINE_PATH,
    Server,
    baseline_server,
    free_ports,
    start_both,
    web_server,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/ops_portal_bench_surge"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/11"
# What the surge reads. One tuple: adding or swapping a path is a one-line change.
ENDPOINTS = ("/status/", "/api/v2/summary.json")
# The target: each endpoint at >= 0.9x the trivial view's throughput.
TARGET_RATIO = 0.9
RESULTS_SECTION = "status_surge"
# As in runner.py and the storm: the machine was busy when these are exceeded.
NOISY_SPREAD = 0.15
NOISY_OTHERS = 0.2
# Builds the data in the portal's environment (surge_data imports the portal's models).
BUILD_COMMAND = "from bench.surge_data import main; main()"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "status surge (bench/status_surge.py; --duration, --warmup, --client, --threads apply)"
    )
    group.add_argument(
        "--surge-connections", type=int, default=50, help="concurrent keep-alive clients (50)"
    )
    group.add_argument(
        "--surge-database-url",
        default=os.environ.get("SURGE_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="scratch PostgreSQL database, dropped and created afresh "
        f"(SURGE_DATABASE_URL, default {DEFAULT_DATABASE_URL})",
    )
    group.add_argument(
        "--surge-redis-url",
        default=os.environ.get("SURGE_REDIS_URL", DEFAULT_REDIS_URL),
        help="Redis for the cache, a database of its own "
        f"(SURGE_REDIS_URL, default {DEFAULT_REDIS_URL})",
    )
    group.add_argument(
        "--surge-keep-db",
        action="store_true",
        help="leave the scratch database in place afterwards (to inspect it)",
    )


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.surge_connections < 1:
        parser.error("--surge-connections must be >= 1")
    if not args.surge_database_url.startswith(("postgres://", "postgresql://")):
        parser.error("--surge-database-url must be a PostgreSQL URL")
    if not args.surge_redis_url.startswith(("redis://", "rediss://")):
        parser.error("--surge-redis-url must be a Redis URL")


def say(message: str) -> None:
    print(f"bench surge: {message}", file=sys.stderr, flush=True)


@dataclass
class Measured:
    """One endpoint's run (or why there is none)."""

    path: str
    response_bytes: int = 0
    result: LoadResult | None = None
    failure: str = ""

    def ratios(self, baseline: LoadResult) -> tuple[float | None, float | None]:
        """(req/s, p99) as ratios to the baseline run."""
        if self.result is None:
            return None, None
        rps = (
            self.result.requests_per_second / baseline.requests_per_second
            if baseline.requests_per_second
            else None
        )
        p99 = self.result.p99_ms / baseline.p99_ms if baseline.p99_ms else None
        return rps, p99

    def meets_target(self, baseline: LoadResult) -> bool:
        rps, _ = self.ratios(baseline)
        return rps is not None and rps >= TARGET_RATIO

    def problem(self) -> str:
        if self.failure:
            return self.failure
        if self.result is not None and self.result.errors:
            return f"{self.result.errors} errors (answers >= 400, socket errors or timeouts)"
        return ""

    def as_json(self, baseline: LoadResult) -> dict:
        rps, p99 = self.ratios(baseline)
        data: dict = {"endpoint": f"GET {self.path}", "response_bytes": self.response_bytes}
        if self.result is None:
            return {**data, "status": "failed", "failure": self.failure}
        return {
            **data,
            "status": "ok",
            **asdict(self.result),
            "rps_ratio_to_baseline": round(rps, 4) if rps is not None else None,
            "p99_ratio_to_baseline": round(p99, 3) if p99 is not None else None,
            "target_met": self.meets_target(baseline),
        }


def environment(args: argparse.Namespace, workdir: Path, port: int, metrics_dir: Path) -> dict:
    """The Procfile line's environment: production-shaped (DEBUG off, PostgreSQL, Redis cache,
    Prometheus files on a tmpfs as docker-compose mounts them), on the surge's own servers."""
    env = portal.portal_env(workdir / "var", port)
    env.update(
        DJANGO_ENV="development",  # production would redirect plain HTTP to HTTPS
        DEBUG="0",
        DATABASE_URL=args.surge_database_url,
        REDIS_URL=args.surge_redis_url,
        CELERY_BROKER_URL=args.surge_redis_url,
        WEB_CONCURRENCY="2",
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
    )
    return env


def parse_build_output(output: str) -> dict:
    """The data builder's JSON line ({"shape", "counts"}); other lines (the shell's) ignored."""
    for line in reversed(output.splitlines()):
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict) and "counts" in data:
            return data
    raise BenchError(f"the data builder printed no JSON line:\n{output[-2000:]}")


def _check_redis(redis_url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2).ping()
    except redis.RedisError as exc:
        raise BenchError(
            f"the status surge needs Redis at {redis_url} ({type(exc).__name__}); start it, "
            "pass --surge-redis-url, or run with --skip-surge"
        ) from exc


def _get_json(port: int, path: str) -> dict:
    answer = fetch(port, path)
    if answer.status != 200:
        raise BenchError(f"GET {path} answered {answer.status}")
    return json.loads(answer.body)


def check_data(port: int, counts: dict) -> None:
    """The built data is what the public JSON shows (a page without it would measure nothing)."""
    components = _get_json(port, "/api/v2/components.json")["components"]
    leaves = sum(1 for c in components if not c["group"])
    groups = len(components) - leaves
    unresolved = len(_get_json(port, "/api/v2/incidents/unresolved.json")["incidents"])
    seen = (leaves, groups, unresolved)
    expected = (counts["components"], counts["groups"], counts["active_incidents"])
    if seen != expected:
        raise BenchError(
            f"the page shows {seen} (components, groups, unresolved incidents), built {expected}"
        )


def preflight(port: int, path: str) -> tuple[str, int]:
    """Why `path` cannot be measured ("" if it answers 200), and its body size."""
    try:
        answer = fetch(port, path)
    except OSError as exc:
        return f"GET {path}: {type(exc).__name__}", 0
    if answer.status != 200:
        return f"GET {path} answered {answer.status}", 0
    return "", len(answer.body)


def run(args: argparse.Namespace, workdir: Path, servers: list[Server]) -> int:
    """The whole surge; 0, or 1 when an endpoint failed or answered errors under load."""
    machine = report.machine()  # before anything starts: the load average says how quiet it was
    workdir.mkdir(parents=True, exist_ok=True)
    client = choose_client(
        args.client, threads=args.threads, connections=args.surge_connections, workdir=workdir
    )
    baseline_port, web_port = free_ports(2)
    shm = Path("/dev/shm")
    metrics_dir = Path(
        tempfile.mkdtemp(prefix="ops-portal-surge-prom-", dir=shm if shm.is_dir() else workdir)
    )
    env = environment(args, workdir, web_port, metrics_dir)
    baseline = baseline_server(baseline_port, workdir / "b.log", name="surge baseline")
    web = web_server(env, web_port, workdir / "web.log", name="surge web")
    database = storm_db.database_name(args.surge_database_url)
    try:
        _check_redis(args.surge_redis_url)
        say(f"creating database {database}, migrate")
        storm_db.recreate(args.surge_database_url)
        portal.manage(env, "migrate", "--noinput")
        say("building the data (bench/surge_data.py)")
        data = parse_build_output(portal.manage(env, "shell", "-c", BUILD_COMMAND))
        start_both(baseline, web, servers, say)
        check_data(web_port, data["counts"])
        measured = [Measured(path) for path in ENDPOINTS]
        for row in measured:
            row.failure, row.response_bytes = preflight(web_port, row.path)
        say(f"client: {client.describe(args.duration)}, {args.warmup}s warm-up per endpoint")
        roots = {server.process.pid for server in (baseline, web) if server.process}
        cpu_before = cpu.snapshot(roots)
        baselines = [_measure(client, "baseline", Target(baseline_port, BASELINE_PATH), args)]
        for row in measured:
            if not row.failure:
                row.result = _measure(client, row.path, Target(web_port, row.path), args)
                # Still answering after the run: a crashed worker would show up here.
                failure, _ = preflight(web_port, row.path)
                row.failure = f"after the run: {failure}" if failure else ""
        baselines.append(_measure(client, "baseline", Target(baseline_port, BASELINE_PATH), args))
        cpu_during = cpu.usage(cpu_before, cpu.snapshot(roots))
    finally:
        for server in (web, baseline):
            if server in servers:
                servers.remove(server)
                say(f"stopping {server.name}")
                server.stop()
        shutil.rmtree(metrics_dir, ignore_errors=True)
        if not args.surge_keep_db:
            try:
                storm_db.drop(args.surge_database_url)
            except BenchError as exc:
                say(f"warning: {exc}")

    best = max(baselines, key=lambda result: result.requests_per_second)
    first, second = (result.requests_per_second for result in baselines)
    spread = abs(first - second) / max(first, second) if max(first, second) else 0.0
    print()
    print(header(client, args, machine, web.argv, database, data["counts"]))
    print()
    print(table(measured, best))
    print()
    print(notes(measured, best, baselines, spread))
    print(_cpu_line(cpu_during))
    if spread > NOISY_SPREAD:
        print(
            f"warning: the baseline runs differ by {spread:.0%} (more than {NOISY_SPREAD:.0%}): "
            "something else was using the CPU; treat these figures as rough and run again"
        )
    if cpu_during.others > NOISY_OTHERS:
        print(
            f"warning: other processes used {cpu_during.others:.2f} CPUs during the runs "
            f"({cpu_during.busiest_others()}); treat these figures as rough and run again"
        )
    path = report.merge_json(
        RESULTS_SECTION,
        {
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine,
            "client": {
                "name": client.name,
                "command": client.describe(args.duration),
                "connections": args.surge_connections,
            },
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "baseline": {
                "command": shlex.join(["gunicorn", *baseline.argv[1:]]),
                "runs": [asdict(result) for result in baselines],
                "used": "fastest run",
                "spread": round(spread, 4),
            },
            "portal": {
                "command": shlex.join(["gunicorn", *web.argv[1:]]),
                "procfile": "web",
                "database": "postgresql",
                "redis_db": args.surge_redis_url.rsplit("/", 1)[-1],
            },
            "data": data,
            "target": {
                "rps_ratio": TARGET_RATIO,
                "met": all(row.meets_target(best) for row in measured),
            },
            "cpus_during_runs": {"seconds": round(cpu_during.seconds, 2), **cpu_during.cpus},
            "endpoints": [row.as_json(best) for row in measured],
        },
    )
    print(f"results: {path} ({RESULTS_SECTION})")
    problems = [(row.path, row.problem()) for row in measured if row.problem()]
    for endpoint, problem in problems:
        say(f"{endpoint}: {problem}")
    return 1 if problems else 0


def _measure(client, name: str, target: Target, args: argparse.Namespace) -> LoadResult:
    if args.warmup:
        client.run(target, args.warmup)  # also fills the page cache before the clock starts
    say(f"measuring {name} for {args.duration}s")
    return client.run(target, args.duration)


def header(client, args, machine: dict, web_argv: list[str], database: str, counts: dict) -> str:
    load = ", ".join(f"{value:.2f}" for value in machine["loadavg_at_start"])
    return "\n".join(
        [
            f"Status surge, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine['cpus']} CPUs "
            f"(load average at start {load}), Python {machine['python']}, "
            f"Django {machine['django']}, gunicorn {machine['gunicorn']}",
            f"client:   {client.describe(args.duration)}, {args.warmup}s warm-up, "
            "same for the baseline",
            "baseline: bare Django JSON view, no middleware, no DB; gunicorn 2 sync workers",
            f"web:      {shlex.join(['gunicorn', *web_argv[1:]])}",
            f"          DEBUG=0, PostgreSQL {database}, "
            f"Redis db {args.surge_redis_url.rsplit('/', 1)[-1]} (cache)",
            f"data:     {counts['components']} public components ({counts['grouped']} in "
            f"{counts['groups']} groups) + {counts['internal_services']} internal, "
            f"{counts['resolved_incidents']:,} resolved incidents + "
            f"{counts['active_incidents']} active ({counts['public_updates']:,} public updates "
            f"in {counts['timeline_events']:,} timeline events), "
            f"{counts['maintenance_windows']} maintenance windows, "
            f"{counts['uptime_days']:,} uptime days",
        ]
    )


def table(measured: list[Measured], baseline: LoadResult) -> str:
    head = (
        f"{'endpoint':<28} {'bytes':>8} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'errors':>7} {'req/s vs base':>14} {'p99 vs base':>12}"
    )
    lines = [head, "-" * len(head)]
    lines.append(
        f"{'baseline GET ' + BASELINE_PATH:<28} {'':>8} {baseline.requests_per_second:>9.1f} "
        f"{baseline.p50_ms:>8.2f} {baseline.p99_ms:>8.2f} {baseline.errors:>7d} "
        f"{'1.00x':>14} {'1.00x':>12}"
    )
    for row in measured:
        label = f"GET {row.path}"
        if row.result is None:
            lines.append(f"{label:<28} {row.response_bytes:>8} FAILED: {row.failure}")
            continue
        rps, p99 = row.ratios(baseline)
        result = row.result
        lines.append(
            f"{label:<28} {row.response_bytes:>8} {result.requests_per_second:>9.1f} "
            f"{result.p50_ms:>8.2f} {result.p99_ms:>8.2f} {result.errors:>7d} "
            f"{_times(rps):>14} {_times(p99):>12}"
        )
    return "\n".join(lines)


def _times(ratio: float | None) -> str:
    return f"{ratio:.2f}x" if ratio is not None else "-"


def notes(measured: list[Measured], best: LoadResult, baselines, spread: float) -> str:
    first, second = (result.requests_per_second for result in baselines)
    met = all(row.meets_target(best) for row in measured)
    ratios = ", ".join(f"{row.path} {_times(row.ratios(best)[0])}" for row in measured)
    return "\n".join(
        [
            "req/s vs base = endpoint req/s / the faster of two baseline runs "
            f"({first:.1f} and {second:.1f} req/s, {spread:.0%} apart); "
            "p99 vs base = endpoint p99 / that run's p99 (above 1 = slower)",
            f"target req/s >= {TARGET_RATIO:.2f}x baseline for every endpoint: "
            + ("met" if met else "MISSED")
            + f" ({ratios})",
        ]
    )


def _cpu_line(used: cpu.Usage) -> str:
    def total(prefix: str) -> float:
        return sum(value for name, value in used.cpus.items() if name.startswith(prefix))

    others = used.busiest_others()
    return (
        f"CPUs in use during the runs ({os.cpu_count()} CPUs, {used.seconds:.1f} s): "
        f"benchmark {total('benchmark'):.2f} (web, baseline, client), "
        f"postgres {total('postgres'):.2f}, redis {total('redis'):.2f}, "
        f"others {used.others:.2f}" + (f" ({others})" if others else "")
    )
