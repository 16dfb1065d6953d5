"""The alert storm: 2,000 Alertmanager alerts against the production-shaped stack.

Starts the Procfile's `web` (WEB_CONCURRENCY=2) and one `worker` (WORKER_CONCURRENCY=2) on a
scratch PostgreSQL database and a Redis database of its own, and the bare Django baseline
(ARCHITECTURE.md §7). Then, from 10 keep-alive clients:

1. storm: 200 POSTs x 10 alerts over 200 fingerprints (bench/storm_payloads.py);
2. retries: the same, to a fresh integration, with every POST sent twice back to back.

For each it reports accept throughput (req/s, alerts/s) and latency, the time from the first
POST until every alert is stored and no delivery is left pending (grouped) and until every
group is routed, what was stored against what was expected, and the accept throughput as a
ratio to the baseline measured with the same client in the same run (the faster of a run before
and a run after the storms). See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench import cpu, portal, report, storm_db
from bench.errors import BenchError
from bench.servers import (
    VENV_BIN,
    Server,
    bind_loopback,
    free_port,
    gunicorn_executable,
    procfile_command,
)
from bench.storm_client import BurstResult, Request, burst
from bench.storm_payloads import (
    EXPECTED_ALERTS,
    EXPECTED_GROUPS,
    EXPECTED_POSTS,
    INSTANCES,
    deliveries,
    warmup_deliveries,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/ops_portal_bench_storm"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
INGEST_PATH = "/api/integrations/alertmanager/"
BASELINE_PATH = "/hello"
# Targets from the issue.
TARGET_RATIO = 0.5
TARGET_GROUPED_S = 5.0
RATE_LIMIT = 10_000_000  # alerts per minute: high enough never to interfere
WARMUP_POSTS = 60
# Two baseline runs further apart than this mean the machine was busy (as in runner.py).
NOISY_SPREAD = 0.15
# CPUs used on average by processes that are neither ours nor PostgreSQL/Redis.
NOISY_OTHERS = 0.2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("alert storm (bench/alert_storm.py)")
    group.add_argument(
        "--storm-connections", type=int, default=10, help="concurrent keep-alive clients (10)"
    )
    group.add_argument(
        "--storm-severity",
        choices=["warning", "critical"],
        default="warning",
        help="severity label of the storm's alerts: warning (P3, groups are recorded) or "
        "critical (P1, opens an incident per service and puts every group on its timeline)",
    )
    group.add_argument(
        "--storm-repeat", type=int, default=1, help="storm + retries rounds in one run (1)"
    )
    group.add_argument(
        "--storm-baseline-requests",
        type=int,
        default=4000,
        help="GET /hello requests per baseline measurement (4000)",
    )
    group.add_argument(
        "--storm-timeout",
        type=float,
        default=60.0,
        help="seconds to wait for the storm to be grouped and routed (60)",
    )
    group.add_argument(
        "--storm-database-url",
        default=os.environ.get("STORM_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="scratch PostgreSQL database, dropped and created afresh "
        f"(STORM_DATABASE_URL, default {DEFAULT_DATABASE_URL})",
    )
    group.add_argument(
        "--storm-redis-url",
        default=os.environ.get("STORM_REDIS_URL", DEFAULT_REDIS_URL),
        help="Redis for broker, cache and rate limit, a database of its own "
        f"(STORM_REDIS_URL, default {DEFAULT_REDIS_URL})",
    )
    group.add_argument(
        "--storm-keep-db",
        action="store_true",
        help="leave the scratch database in place afterwards (to inspect it)",
    )


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.storm_connections < 1 or args.storm_repeat < 1 or args.storm_baseline_requests < 1:
        parser.error("--storm-connections, --storm-repeat, --storm-baseline-requests must be >= 1")
    if not args.storm_database_url.startswith(("postgres://", "postgresql://")):
        parser.error("--storm-database-url must be a PostgreSQL URL")
    if not args.storm_redis_url.startswith(("redis://", "rediss://")):
        parser.error("--storm-redis-url must be a Redis URL")


def say(message: str) -> None:
    print(f"bench storm: {message}", file=sys.stderr, flush=True)


@dataclass
class StormRun:
    """One storm (plain or with retries) and what the database held afterwards."""

    name: str
    posts: int  # POSTs sent (200, or 400 with retries)
    accept: BurstResult
    grouped_after_s: float | None
    routed_after_s: float | None
    counts: storm_db.Counts
    polls: int
    watch_error: str = ""

    @property
    def alerts_per_second(self) -> float:
        return (
            self.accept.count(202) * INSTANCES / self.accept.seconds if self.accept.seconds else 0
        )

    def duplicates(self) -> dict[str, int]:
        return {
            "alerts": max(0, self.counts.alerts - EXPECTED_ALERTS),
            "groups": max(0, self.counts.groups - EXPECTED_GROUPS),
            "deliveries": max(0, self.counts.deliveries - EXPECTED_POSTS),
        }

    def problems(self) -> list[str]:
        found = []
        if self.accept.other_than(202):
            found.append(
                f"{self.accept.other_than(202)} answers other than 202 "
                f"({self.accept.statuses}, socket errors {self.accept.socket_errors}"
                + (f": {self.accept.first_error}" if self.accept.first_error else "")
                + ")"
            )
        counts = self.counts
        for label, got, expected in (
            ("alerts", counts.alerts, EXPECTED_ALERTS),
            ("groups", counts.groups, EXPECTED_GROUPS),
            ("deliveries", counts.deliveries, EXPECTED_POSTS),
            ("sum of alert_count", counts.alert_count_sum, EXPECTED_ALERTS),
        ):
            if got != expected:
                found.append(f"{label}: {got} stored, {expected} expected")
        if counts.pending:
            found.append(f"{counts.pending} deliveries still pending")
        if counts.errored:
            found.append(f"{counts.errored} deliveries failed to parse in the worker")
        if self.grouped_after_s is None:
            found.append("not grouped before the timeout")
        if self.watch_error:
            found.append(f"watching the database failed: {self.watch_error}")
        return found

    def as_json(self, baseline_rps: float) -> dict:
        accept = asdict(self.accept)
        accept.pop("started_at")
        accept["statuses"] = {str(code): n for code, n in self.accept.statuses.items()}
        return {
            "name": self.name,
            "posts": self.posts,
            "alerts_per_post": INSTANCES,
            "accept": accept,
            "accept_alerts_per_second": round(self.alerts_per_second, 1),
            "rps_ratio_to_baseline": round(self.accept.requests_per_second / baseline_rps, 4)
            if baseline_rps
            else None,
            "grouped_after_s": _round(self.grouped_after_s),
            "routed_after_s": _round(self.routed_after_s),
            "stored": asdict(self.counts),
            "expected": {
                "alerts": EXPECTED_ALERTS,
                "groups": EXPECTED_GROUPS,
                "deliveries": EXPECTED_POSTS,
            },
            "duplicates": self.duplicates(),
            "problems": self.problems(),
        }


def _round(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


class Stack:
    """The scratch database, the three servers and the integrations of one storm run."""

    def __init__(self, args: argparse.Namespace, workdir: Path, servers: list[Server]):
        self.args = args
        self.workdir = workdir
        self.servers = servers
        self.queue = f"bench-storm-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.baseline_port, self.web_port = _two_ports()
        # docker-compose mounts a tmpfs there: on a disk, every counter update of the
        # multiprocess mmap files turns into writeback and slows the web down.
        shm = Path("/dev/shm")
        self.prometheus = Path(
            tempfile.mkdtemp(prefix="ops-portal-storm-prom-", dir=shm if shm.is_dir() else workdir)
        )
        prometheus = self.prometheus
        env = portal.portal_env(workdir / "var", self.web_port)
        env.update(
            DJANGO_ENV="development",
            DEBUG="0",
            DATABASE_URL=args.storm_database_url,
            REDIS_URL=args.storm_redis_url,
            CELERY_BROKER_URL=args.storm_redis_url,
            CELERY_QUEUE=self.queue,
            WEB_CONCURRENCY="2",
            WORKER_CONCURRENCY="2",
            PROMETHEUS_MULTIPROC_DIR=str(prometheus),
            ALERTS_RATE_LIMIT_PER_MINUTE=str(RATE_LIMIT),
            ALERTS_PROCESS_INLINE="0",
        )
        self.env = env
        self.web: Server | None = None
        self.worker: Server | None = None
        self.baseline: Server | None = None
        self._integrations = 0

    def prepare(self) -> None:
        _check_redis(self.args.storm_redis_url)
        name = storm_db.database_name(self.args.storm_database_url)
        say(f"creating database {name}, migrate, seed_demo")
        storm_db.recreate(self.args.storm_database_url)
        portal.manage(self.env, "migrate", "--noinput")
        portal.manage(self.env, "seed_demo")

    def start(self) -> None:
        gunicorn = gunicorn_executable()
        web_argv = bind_loopback(procfile_command("web", self.env), self.web_port)
        if web_argv[0] != "gunicorn":
            raise BenchError(f"Procfile `web` no longer starts gunicorn: {shlex.join(web_argv)}")
        web_argv[0] = gunicorn
        worker_argv = procfile_command("worker", self.env)
        if worker_argv[0] != "celery":
            raise BenchError(
                f"Procfile `worker` no longer starts celery: {shlex.join(worker_argv)}"
            )
        worker_argv[0] = str(VENV_BIN / "celery")
        baseline_argv = [
            gunicorn,
            "bench.hello_wsgi:application",
            "--bind",
            f"127.0.0.1:{self.baseline_port}",
            "--workers",
            "2",
            "--worker-class",
            "sync",
        ]
        baseline_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.hello_settings"}
        self.baseline = Server(
            "storm baseline",
            baseline_argv,
            baseline_env,
            self.baseline_port,
            self.workdir / "b.log",
        )
        self.web = Server("storm web", web_argv, self.env, self.web_port, self.workdir / "web.log")
        self.worker = Server("storm worker", worker_argv, self.env, 0, self.workdir / "worker.log")
        for server in (self.baseline, self.web, self.worker):
            say(f"starting {server.name}" + (f" on 127.0.0.1:{server.port}" if server.port else ""))
            self.servers.append(server)
            server.start()
        self.baseline.wait_ready(BASELINE_PATH)
        self.web.wait_ready("/health")
        _wait_for_log(self.worker, re.compile(rb"celery@\S+ ready\."), timeout=60)

    def integration(self, label: str) -> tuple[int, str]:
        """Create an Alertmanager integration; return its id and token."""
        self._integrations += 1
        output = portal.manage(
            self.env,
            "create_integration",
            "alertmanager",
            f"storm-{self._integrations}-{label}",
            "--rate-limit",
            str(RATE_LIMIT),
        )
        lines = [line for line in output.splitlines() if line.strip().startswith("{")]
        if not lines:
            raise BenchError(f"create_integration printed no JSON line:\n{output}")
        created = json.loads(lines[-1])
        if not created.get("url", "").endswith(INGEST_PATH):
            raise BenchError(f"create_integration gave an unexpected URL {created.get('url')!r}")
        return int(created["id"]), created["token"]

    def own_servers(self) -> list[Server]:
        return [server for server in (self.worker, self.web, self.baseline) if server]

    def stop(self) -> None:
        """Stop this run's servers (before the database goes)."""
        for server in self.own_servers():
            if server in self.servers:
                self.servers.remove(server)
                say(f"stopping {server.name}")
                server.stop()

    def cleanup(self) -> None:
        shutil.rmtree(self.prometheus, ignore_errors=True)
        _forget_queue(self.args.storm_redis_url, self.queue)
        if not self.args.storm_keep_db:
            try:
                storm_db.drop(self.args.storm_database_url)
            except BenchError as exc:
                say(f"warning: {exc}")


def _two_ports() -> tuple[int, int]:
    for _ in range(20):
        first, second = free_port(), free_port()
        if first != second:
            return first, second
    raise BenchError("could not find free ports on 127.0.0.1")


def _wait_for_log(server: Server, pattern: re.Pattern, timeout: float) -> None:
    assert server.process is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = server.process.poll()
        if code is not None:
            raise BenchError(f"{server.name} exited with status {code}:\n{server.log_tail()}")
        # The log file appears only once the process has written to it.
        with contextlib.suppress(OSError):
            if pattern.search(server.log_path.read_bytes()):
                return
        time.sleep(0.2)
    raise BenchError(f"{server.name} not ready after {timeout:.0f}s:\n{server.log_tail()}")


def _check_redis(redis_url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2).ping()
    except redis.RedisError as exc:
        raise BenchError(
            f"the alert storm needs Redis at {redis_url} ({type(exc).__name__}); start it, "
            "pass --storm-redis-url, or run with --skip-storm"
        ) from exc


def _forget_queue(redis_url: str, queue: str) -> None:
    """Delete this run's Celery queue keys from Redis (nothing else: others share the server)."""
    try:
        import redis

        client = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2)
        client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    except Exception as exc:
        say(f"warning: could not delete the Celery queue {queue}: {type(exc).__name__}")


def _posts(token: str, bodies: list[bytes]) -> list[Request]:
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "User-Agent": "Alertmanager/0.28.1",
    }
    return [Request("POST", INGEST_PATH, headers, body) for body in bodies]


def _storm(
    stack: Stack,
    name: str,
    bodies: list[bytes],
    *,
    expected_alerts: int,
    connections: int,
    timeout: float,
) -> StormRun:
    integration_id, token = stack.integration(name.split(",")[0].replace(" ", "-"))
    watcher = storm_db.Watcher(
        stack.args.storm_database_url, integration_id, expected_alerts=expected_alerts
    )
    try:
        say(f"{name}: {len(bodies)} POSTs from {connections} clients")
        accept = burst(
            stack.web_port, _posts(token, bodies), connections=connections, on_start=watcher.start
        )
        watcher.wait(max(0.0, timeout - (time.monotonic() - accept.started_at)))
        time.sleep(0.5)  # anything still arriving late would show up as a duplicate
        counts = watcher.counts()
    finally:
        watcher.close()
    return StormRun(
        name=name,
        posts=len(bodies),
        accept=accept,
        grouped_after_s=watcher.grouped_after,
        routed_after_s=watcher.routed_after,
        counts=counts,
        polls=watcher.polls,
        watch_error=watcher.error,
    )


def _warm_up(stack: Stack, severity: str, connections: int) -> None:
    """Warm both servers and the worker (imports, pools, the nudge thread) before measuring."""
    assert stack.baseline is not None
    burst(stack.baseline_port, [Request("GET", BASELINE_PATH)] * 400, connections=connections)
    integration_id, token = stack.integration("warmup")
    bodies = [delivery.body for delivery in warmup_deliveries(WARMUP_POSTS, severity=severity)]
    watcher = storm_db.Watcher(
        stack.args.storm_database_url, integration_id, expected_alerts=len(bodies)
    )
    try:
        result = burst(
            stack.web_port, _posts(token, bodies), connections=connections, on_start=watcher.start
        )
        watcher.wait(30)
    finally:
        watcher.close()
    if result.other_than(202):
        raise BenchError(
            f"warm-up POSTs answered {result.statuses} (socket errors {result.socket_errors}"
            + (f": {result.first_error}" if result.first_error else "")
            + f"):\n{stack.web.log_tail() if stack.web else ''}"
        )
    if watcher.grouped_after is None:
        raise BenchError(
            "the worker did not group the warm-up alerts within 30 s:\n"
            + (stack.worker.log_tail() if stack.worker else "")
        )


def _baseline(stack: Stack, count: int, connections: int, label: str) -> BurstResult:
    say(f"measuring baseline GET /hello x {count} ({label})")
    result = burst(
        stack.baseline_port, [Request("GET", BASELINE_PATH)] * count, connections=connections
    )
    if result.other_than(200):
        raise BenchError(f"baseline answered {result.statuses}: {result.first_error}")
    return result


def run(args: argparse.Namespace, workdir: Path, servers: list[Server]) -> int:
    """The whole storm; returns 0, or 1 when an alert was lost, duplicated or refused."""
    machine = report.machine()
    workdir.mkdir(parents=True, exist_ok=True)
    stack = Stack(args, workdir, servers)
    connections = args.storm_connections
    try:
        stack.prepare()
        stack.start()
        say("warming up")
        _warm_up(stack, args.storm_severity, connections)
        baselines = [_baseline(stack, args.storm_baseline_requests, connections, "before")]
        bodies = [delivery.body for delivery in deliveries(severity=args.storm_severity)]
        twice = [body for body in bodies for _ in range(2)]
        runs: list[StormRun] = []
        roots = {server.process.pid for server in stack.own_servers() if server.process}
        cpu_before = cpu.snapshot(roots)
        for round_ in range(args.storm_repeat):
            suffix = f" #{round_ + 1}" if args.storm_repeat > 1 else ""
            for name, sent in ((f"storm{suffix}", bodies), (f"retries{suffix}", twice)):
                runs.append(
                    _storm(
                        stack,
                        name,
                        sent,
                        expected_alerts=EXPECTED_ALERTS,
                        connections=connections,
                        timeout=args.storm_timeout,
                    )
                )
        cpu_during = cpu.usage(cpu_before, cpu.snapshot(roots))
        baselines.append(_baseline(stack, args.storm_baseline_requests, connections, "after"))
    finally:
        stack.stop()
        stack.cleanup()
    web_argv, worker_argv = stack.web.argv, stack.worker.argv

    best = max(baselines, key=lambda result: result.requests_per_second)
    first, second = (result.requests_per_second for result in baselines)
    spread = abs(first - second) / max(first, second) if max(first, second) else 0.0
    print()
    print(_header(args, machine, stack, web_argv, worker_argv, len(bodies[0])))
    print()
    print(_tables(runs, baselines, best))
    problems = [(run.name, problem) for run in runs for problem in run.problems()]
    print()
    print(_verdict(runs, best, problems))
    print(_cpu_line(cpu_during))
    if spread > NOISY_SPREAD:
        print(
            f"warning: the baseline runs differ by {spread:.0%} (more than {NOISY_SPREAD:.0%}): "
            "something else was using the CPU; treat these figures as rough and run again"
        )
    if cpu_during.others > NOISY_OTHERS:
        print(
            f"warning: other processes used {cpu_during.others:.2f} CPUs during the storms "
            f"({cpu_during.busiest_others()}); treat these figures as rough and run again"
        )
    path = report.write_json(
        {
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine,
            "client": {
                "name": "python http.client keep-alive threads",
                "connections": connections,
            },
            "baseline": {
                "command": shlex.join(["gunicorn", *stack.baseline.argv[1:]]),
                "runs": [_burst_json(result) for result in baselines],
                "used": "fastest run",
                "spread": round(spread, 4),
            },
            "portal": {
                "web": shlex.join(["gunicorn", *web_argv[1:]]),
                "worker": shlex.join(["celery", *worker_argv[1:]]),
                "database": "postgresql",
                "redis_db": args.storm_redis_url.rsplit("/", 1)[-1],
                "severity": args.storm_severity,
                "post_bytes": len(bodies[0]),
            },
            "targets": {"ratio": TARGET_RATIO, "grouped_s": TARGET_GROUPED_S},
            "cpus_during_storms": {"seconds": round(cpu_during.seconds, 2), **cpu_during.cpus},
            "runs": [run.as_json(best.requests_per_second) for run in runs],
        },
        report.RESULTS_DIR / "alert_storm.json",
    )
    print(f"results: {path}")
    for name, problem in problems:
        say(f"{name}: {problem}")
    return 1 if problems else 0


def _cpu_line(used: cpu.Usage) -> str:
    def total(prefix: str) -> float:
        return sum(value for name, value in used.cpus.items() if name.startswith(prefix))

    others = used.busiest_others()
    return (
        f"CPUs in use during the storms ({os.cpu_count()} CPUs, {used.seconds:.1f} s): "
        f"benchmark {total('benchmark'):.2f} (web, worker, client), "
        f"postgres {total('postgres'):.2f}, redis {total('redis'):.2f}, "
        f"others {used.others:.2f}" + (f" ({others})" if others else "")
    )


def _burst_json(result: BurstResult) -> dict:
    data = asdict(result)
    data.pop("started_at")
    data["statuses"] = {str(code): n for code, n in result.statuses.items()}
    return data


def _header(args, machine, stack: Stack, web_argv, worker_argv, post_bytes: int) -> str:
    load = ", ".join(f"{value:.2f}" for value in machine["loadavg_at_start"])
    return "\n".join(
        [
            f"Alert storm, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine['cpus']} CPUs "
            f"(load average at start {load}), Python {machine['python']}, "
            f"Django {machine['django']}, gunicorn {machine['gunicorn']}",
            f"client:   python http.client, {args.storm_connections} threads x keep-alive, "
            "same for the baseline",
            "baseline: bare Django JSON view, no middleware, no DB; gunicorn 2 sync workers",
            f"web:      {shlex.join(['gunicorn', *web_argv[1:]])}",
            f"worker:   {shlex.join(['celery', *worker_argv[1:]])}",
            f"          PostgreSQL {storm_db.database_name(args.storm_database_url)}, "
            f"Redis db {args.storm_redis_url.rsplit('/', 1)[-1]}, queue {stack.queue}",
            "data:     a fresh database with seed_demo's catalog, integrations and incidents",
            f"payload:  {EXPECTED_POSTS} Alertmanager v4 POSTs x {INSTANCES} alerts "
            f"({post_bytes / 1024:.1f} KiB each), {EXPECTED_GROUPS} fingerprints, "
            f"severity {args.storm_severity}",
        ]
    )


def _tables(runs: list[StormRun], baselines: list[BurstResult], best: BurstResult) -> str:
    header = (
        f"{'accept':<22} {'POSTs':>6} {'non-2xx':>8} {'req/s':>8} {'alerts/s':>9} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'vs baseline':>12}"
    )
    lines = [header, "-" * len(header)]
    for label, result in zip(("baseline (before)", "baseline (after)"), baselines, strict=True):
        ratio = result.requests_per_second / best.requests_per_second
        lines.append(
            f"{label:<22} {result.requests:>6} {result.other_than(200):>8} "
            f"{result.requests_per_second:>8.1f} {'-':>9} {result.p50_ms:>8.2f} "
            f"{result.p99_ms:>8.2f} {ratio:>11.2f}x"
        )
    for run in runs:
        result = run.accept
        ratio = result.requests_per_second / best.requests_per_second
        lines.append(
            f"{run.name:<22} {run.posts:>6} {result.other_than(202):>8} "
            f"{result.requests_per_second:>8.1f} {run.alerts_per_second:>9.0f} "
            f"{result.p50_ms:>8.2f} {result.p99_ms:>8.2f} {ratio:>11.2f}x"
        )
    lines.append("")
    header = (
        f"{'grouping':<22} {'grouped s':>9} {'routed s':>9} {'alerts':>11} {'groups':>9} "
        f"{'deliveries':>11} {'duplicates':>11} {'replayed':>9} {'incidents':>9}"
    )
    lines += [header, "-" * len(header)]
    for run in runs:
        counts = run.counts
        dups = run.duplicates()
        lines.append(
            f"{run.name:<22} {_seconds(run.grouped_after_s):>9} {_seconds(run.routed_after_s):>9} "
            f"{f'{counts.alerts}/{EXPECTED_ALERTS}':>11} {f'{counts.groups}/{EXPECTED_GROUPS}':>9} "
            f"{f'{counts.deliveries}/{EXPECTED_POSTS}':>11} {sum(dups.values()):>11} "
            f"{run.accept.replayed:>9} {counts.incidents:>9}"
        )
    return "\n".join(lines)


def _seconds(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "timeout"


def _verdict(runs: list[StormRun], best: BurstResult, problems) -> str:
    plain = [run for run in runs if not run.name.startswith("retries")]
    ratios = [run.accept.requests_per_second / best.requests_per_second for run in plain]
    grouped = [run.grouped_after_s for run in runs]
    slowest = max((value for value in grouped if value is not None), default=None)
    ratio_ok = min(ratios) >= TARGET_RATIO
    grouped_ok = all(value is not None and value < TARGET_GROUPED_S for value in grouped)
    lines = [
        f"vs baseline = accept req/s / the faster baseline run ({best.requests_per_second:.1f} "
        "req/s); alerts/s = alerts carried by 202 answers (replays included) per second",
        "grouped = first POST until every alert is stored and no delivery is pending; "
        "routed = until every group is routed too (polled every 50 ms)",
        "duplicates = alerts, groups and deliveries stored beyond the expected counts; "
        "incidents = distinct incidents the groups were opened or attached to",
        f"target accept >= {TARGET_RATIO:.2f}x baseline: "
        + ("met" if ratio_ok else "MISSED")
        + f" (storm {', '.join(f'{ratio:.2f}x' for ratio in ratios)})",
        f"target grouped < {TARGET_GROUPED_S:.0f} s: "
        + ("met" if grouped_ok else "MISSED")
        + (f" (slowest {slowest:.2f} s)" if slowest is not None else ""),
        "retries stored once, nothing lost: " + ("yes" if not problems else "NO (see below)"),
    ]
    return "\n".join(lines)
