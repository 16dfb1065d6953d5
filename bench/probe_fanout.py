"""Probe fan-out: 8 probes where one target hangs complete in about that target's timeout.

Issue 5 asks that a probe set run side by side, so one target that accepts TCP and never
answers costs the set its own timeout and nothing more. This measures it on the production
shape: the Procfile's `probes` line (a Celery thread-pool worker) on a scratch PostgreSQL
database and a Redis database of its own, a service with 8 `http` targets on local peers (7
answer after 0-800 ms, one hangs; bench/fanout_peers.py), and the set started in this process
exactly as the portal starts it (`diagnostics.services.health_check_start`: a Diagnosis with 8
`http.health` runs, sent as a Celery group after commit).

Per round: the wall time from the start until `Diagnosis.finished_at` is set (polled), each
run's status and duration_ms, their sum and the slowest. Then a sequential reference (the same
8 probes one after another in this process through `diagnostics.runner.run_probe`) and the bare
Django baseline measured in the same run (ARCHITECTURE.md §7). Every round is checked: 8 runs
done, the hanging one `error` "timed out after Ns", the 7 others `ok`, the set finished.

    .venv/bin/python -m bench.probe_fanout [--rounds 5] [--probe-timeout 5]
    .venv/bin/python -m bench --fanout-only      # the same inside `make bench`

See bench/README.md ("Probe fan-out").
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shlex
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench import cpu, portal, report, storm_db
from bench.alert_storm import _forget_queue, _wait_for_log
from bench.errors import BenchError
from bench.fanout_peers import Peer, Peers
from bench.servers import VENV_BIN, Server, free_port, gunicorn_executable, procfile_command
from bench.storm_client import BurstResult, Request, burst

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/ops_portal_bench_fanout"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/10"
PROBE = "http.health"
# The healthy peers' fixed answer delays; the hanging peer comes on top.
LATENCIES_MS = (0, 50, 100, 200, 300, 500, 800)
BASELINE_PATH = "/hello"
BASELINE_CONNECTIONS = 10
POLL_S = 0.01  # how often the benchmark looks for Diagnosis.finished_at
# http.health's own timeout (its runner timeout, 10 s) must stay above the target's, or the
# runner would cut the hanging probe first; the slowest peer (0.8 s) must fit well below it.
MIN_PROBE_TIMEOUT_S = 1.0
MAX_PROBE_TIMEOUT_S = 9.0
NOISY_SPREAD = 0.15  # as in runner.py: two baseline runs further apart mean a busy machine
NOISY_OTHERS = 0.2  # as in alert_storm.py: CPUs used by processes not ours, PostgreSQL or Redis


def add_arguments(parser: argparse.ArgumentParser, prefix: str = "--fanout-") -> None:
    """The fan-out's options: `--fanout-rounds` etc. in `python -m bench`, `--rounds` alone."""
    group = parser.add_argument_group("probe fan-out (bench/probe_fanout.py)")
    group.add_argument(
        f"{prefix}rounds", dest="fanout_rounds", type=int, default=5, help="probe sets (5)"
    )
    group.add_argument(
        f"{prefix}probe-timeout",
        dest="fanout_probe_timeout",
        type=float,
        default=5.0,
        help="timeout_s of the http targets, i.e. what the hanging one costs (5)",
    )
    group.add_argument(
        f"{prefix}baseline-requests",
        dest="fanout_baseline_requests",
        type=int,
        default=2000,
        help="GET /hello requests per baseline measurement (2000)",
    )
    group.add_argument(
        f"{prefix}database-url",
        dest="fanout_database_url",
        default=os.environ.get("FANOUT_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="scratch PostgreSQL database, dropped and created afresh "
        f"(FANOUT_DATABASE_URL, default {DEFAULT_DATABASE_URL})",
    )
    group.add_argument(
        f"{prefix}redis-url",
        dest="fanout_redis_url",
        default=os.environ.get("FANOUT_REDIS_URL", DEFAULT_REDIS_URL),
        help=f"Redis for broker and cache (FANOUT_REDIS_URL, default {DEFAULT_REDIS_URL})",
    )
    group.add_argument(
        f"{prefix}keep-db",
        dest="fanout_keep_db",
        action="store_true",
        help="leave the scratch database in place afterwards (to inspect it)",
    )


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.fanout_rounds < 1 or args.fanout_baseline_requests < 1:
        parser.error("the fan-out's rounds and baseline requests must be >= 1")
    if not MIN_PROBE_TIMEOUT_S <= args.fanout_probe_timeout <= MAX_PROBE_TIMEOUT_S:
        parser.error(
            f"the probe timeout must be {MIN_PROBE_TIMEOUT_S:g} to {MAX_PROBE_TIMEOUT_S:g} s: "
            "above the slowest peer (0.8 s), below http.health's runner timeout (10 s)"
        )
    if not args.fanout_database_url.startswith(("postgres://", "postgresql://")):
        parser.error("the fan-out database URL must be a PostgreSQL URL")
    if not args.fanout_redis_url.startswith(("redis://", "rediss://")):
        parser.error("the fan-out Redis URL must be a Redis URL")


def say(message: str) -> None:
    print(f"bench fan-out: {message}", file=sys.stderr, flush=True)


# --- results ------------------------------------------------------------------------------


@dataclass
class RunRow:
    """One probe run of a set (or of the sequential reference)."""

    target: str
    latency_ms: int | None  # the peer's answer delay; None for the hanging peer
    state: str
    status: str
    error: str
    duration_ms: int | None
    summary: str = ""
    reported_latency_ms: float | None = None  # the latency the probe itself measured
    pickup_ms: float | None = None  # from the set being stored until this run started


def _reported_latency(result: dict) -> float | None:
    return (result.get("raw") or {}).get("latency_ms")


@dataclass
class Round:
    number: int
    diagnosis_id: int
    set_s: float | None  # start -> finished_at seen; None when it did not finish in time
    runs: list[RunRow]
    problems: list[str] = field(default_factory=list)

    @property
    def sum_s(self) -> float:
        return sum(run.duration_ms or 0 for run in self.runs) / 1000

    @property
    def slowest_s(self) -> float:
        return max((run.duration_ms or 0 for run in self.runs), default=0) / 1000

    @property
    def last_pickup_ms(self) -> float | None:
        pickups = [run.pickup_ms for run in self.runs if run.pickup_ms is not None]
        return max(pickups) if pickups else None

    @property
    def overhead_ms(self) -> float | None:
        return (self.set_s - self.slowest_s) * 1000 if self.set_s is not None else None


@dataclass
class Measured:
    rounds: list[Round]
    sequential: Sequential
    baselines: list[BurstResult]  # before and after the rounds
    run_timeout_s: float  # the runs' own timeout (the probe's default)
    cpu_during_rounds: cpu.Usage


@dataclass
class Sequential:
    seconds: float
    runs: list[RunRow]
    problems: list[str] = field(default_factory=list)


def check_runs(runs: list[RunRow], expected: int, timeout_s: float) -> list[str]:
    """What is wrong with a finished set: counts, the hanging run's error, the others' status."""
    problems = []
    if len(runs) != expected:
        problems.append(f"{len(runs)} runs, {expected} expected")
    timed_out = f"timed out after {timeout_s:g}s"
    for run in runs:
        if run.state != "done":
            problems.append(f"{run.target}: {run.state}, not done")
        elif run.latency_ms is None:
            if run.status != "error" or timed_out not in run.error:
                problems.append(
                    f"{run.target}: {run.status} {run.error!r}, expected error {timed_out!r}"
                )
        elif run.status != "ok":
            problems.append(f"{run.target}: {run.status} ({run.summary}), expected ok")
    return problems


# --- the stack ----------------------------------------------------------------------------


class Stack:
    """Scratch database, Redis queues, the Procfile `probes` worker and the baseline server."""

    def __init__(self, args: argparse.Namespace, workdir: Path, servers: list[Server]):
        self.args = args
        self.workdir = workdir
        self.servers = servers
        # A queue of its own: the worker never takes another run's (or another portal's) tasks.
        self.queue = f"bench-fanout-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.probe_queue = f"{self.queue}-probes"
        self.baseline_port = free_port()
        env = portal.portal_env(workdir / "var", self.baseline_port)
        env.pop("PORT", None)  # no web server here
        env.update(
            DJANGO_ENV="development",  # the outbound policy lets probes reach 127.0.0.1
            DEBUG="0",
            DATABASE_URL=args.fanout_database_url,
            REDIS_URL=args.fanout_redis_url,
            CELERY_BROKER_URL=args.fanout_redis_url,
            CELERY_QUEUE=self.queue,
            DIAGNOSTICS_QUEUE=self.probe_queue,
            DIAGNOSTICS_RUN_INLINE="0",
        )
        self.env = env
        self.worker: Server | None = None
        self.baseline: Server | None = None

    def prepare(self) -> None:
        _check_redis(self.args.fanout_redis_url)
        name = storm_db.database_name(self.args.fanout_database_url)
        say(f"creating database {name}, migrate")
        storm_db.recreate(self.args.fanout_database_url)
        portal.manage(self.env, "migrate", "--noinput")

    def start(self) -> None:
        worker_argv = consume_queue(procfile_command("probes", self.env), self.probe_queue)
        if worker_argv[0] != "celery":
            raise BenchError(
                f"Procfile `probes` no longer starts celery: {shlex.join(worker_argv)}"
            )
        worker_argv[0] = str(VENV_BIN / "celery")
        baseline_argv = [
            gunicorn_executable(),
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
            "fan-out baseline",
            baseline_argv,
            baseline_env,
            self.baseline_port,
            self.workdir / "b.log",
        )
        self.worker = Server("probes worker", worker_argv, self.env, 0, self.workdir / "probes.log")
        for server in (self.baseline, self.worker):
            say(f"starting {server.name}")
            self.servers.append(server)
            server.start()
        self.baseline.wait_ready(BASELINE_PATH)
        _wait_for_log(self.worker, re.compile(rb"probes@\S+ ready\."), timeout=60)

    def stop(self) -> None:
        for server in (self.worker, self.baseline):
            if server is not None and server in self.servers:
                self.servers.remove(server)
                say(f"stopping {server.name}")
                server.stop()

    def cleanup(self) -> None:
        for queue in (self.queue, self.probe_queue):
            _forget_queue(self.args.fanout_redis_url, queue)
        if not self.args.fanout_keep_db:
            try:
                storm_db.drop(self.args.fanout_database_url)
            except BenchError as exc:
                say(f"warning: {exc}")


def consume_queue(argv: list[str], queue: str) -> list[str]:
    """The worker command with its `--queues` set to `queue` (the Procfile names `probes`)."""
    argv = list(argv)
    for index, arg in enumerate(argv):
        if arg in ("--queues", "-Q") and index + 1 < len(argv):
            argv[index + 1] = queue
            return argv
        if arg.startswith("--queues="):
            argv[index] = f"--queues={queue}"
            return argv
    raise BenchError(f"Procfile `probes` names no --queues: {shlex.join(argv)}")


def _check_redis(redis_url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2).ping()
    except redis.RedisError as exc:
        raise BenchError(
            f"the probe fan-out needs Redis at {redis_url} ({type(exc).__name__}); start it, "
            "pass --fanout-redis-url, or run with --skip-fanout"
        ) from exc


# --- Django in this process (to start sets as the portal does) ----------------------------


def setup_django(env: dict[str, str]) -> None:
    """Load the portal's settings here with the worker's database, broker and queues."""
    from django.conf import settings

    if settings.configured:
        raise BenchError("Django is already set up in this process; run the fan-out on its own")
    os.environ.update(env)
    import django

    django.setup()
    # The sequential reference runs probes here: no log line per request among the output.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def create_service(name: str, peers: list[Peer], timeout_s: float):
    """A catalog service with one `http` target per peer, through the catalog's own writes."""
    from catalog.models import Service, TargetKind
    from catalog.services import target_create

    service = Service.objects.create(name=name, slug=name)
    for peer in peers:
        target_create(
            service=service,
            name=peer.name,
            kind=TargetKind.HTTP,
            config={"url": peer.url, "timeout_s": timeout_s},
        )
    return service


def start_set(service) -> int:
    """What the portal's "health check" button does: plan, store, send on commit."""
    from diagnostics import services

    return services.health_check_start(service=service, by=None).pk


def wait_finished(diagnosis_id: int, deadline: float) -> float | None:
    """time.monotonic() when finished_at was first seen set, or None at the deadline."""
    from diagnostics.models import Diagnosis

    finished = Diagnosis.objects.filter(pk=diagnosis_id, finished_at__isnull=False)
    while time.monotonic() < deadline:
        if finished.exists():
            return time.monotonic()
        time.sleep(POLL_S)
    return None


def stored_runs(diagnosis_id: int, latency_by_target: dict[str, int | None]) -> list[RunRow]:
    from diagnostics.models import Diagnosis

    diagnosis = Diagnosis.objects.get(pk=diagnosis_id)
    rows = []
    for run in diagnosis.runs.select_related("target").order_by("position", "id"):
        name = run.target.name if run.target else run.target_label
        pickup = (
            (run.started_at - diagnosis.created_at).total_seconds() * 1000
            if run.started_at
            else None
        )
        rows.append(
            RunRow(
                target=name,
                latency_ms=latency_by_target.get(name),
                state=run.state,
                status=run.status,
                error=run.error,
                duration_ms=run.duration_ms,
                summary=run.summary,
                reported_latency_ms=_reported_latency(run.result),
                pickup_ms=round(pickup, 1) if pickup is not None else None,
            )
        )
    return rows


def run_timeouts(diagnosis_id: int) -> set[float]:
    from diagnostics.models import ProbeRun

    return set(
        ProbeRun.objects.filter(diagnosis_id=diagnosis_id).values_list("timeout_s", flat=True)
    )


def measure_round(number: int, service, peers: list[Peer], timeout_s: float) -> Round:
    latency_by_target = {peer.name: peer.latency_ms for peer in peers}
    started = time.monotonic()
    diagnosis_id = start_set(service)
    finished = wait_finished(diagnosis_id, started + max(30.0, 4 * timeout_s))
    set_s = finished - started if finished is not None else None
    runs = stored_runs(diagnosis_id, latency_by_target)
    result = Round(number, diagnosis_id, set_s, runs)
    if set_s is None:
        result.problems.append("the set did not finish (Diagnosis.finished_at not set)")
    result.problems += check_runs(runs, len(peers), timeout_s)
    return result


def sequential_reference(service, peers: list[Peer], run_timeout_s: float) -> Sequential:
    """The same probes one after another, in this process, with the set's run timeout."""
    from diagnostics import runner
    from diagnostics.probes import registry

    probe = registry.get(PROBE)
    params = probe.validate_params({})
    latency_by_target = {peer.name: peer.latency_ms for peer in peers}
    rows = []
    started = time.monotonic()
    for target in service.targets.filter(enabled=True).order_by("name"):
        outcome = runner.run_probe(probe, target, dict(params), run_timeout_s)
        rows.append(
            RunRow(
                target=target.name,
                latency_ms=latency_by_target.get(target.name),
                state="done",
                status=outcome.status,
                error=outcome.error,
                duration_ms=outcome.duration_ms,
                summary=outcome.summary,
                reported_latency_ms=_reported_latency(outcome.result),
            )
        )
    return Sequential(round(time.monotonic() - started, 3), rows)


def close_django() -> None:
    from django.db import connections

    connections.close_all()


# --- the run ------------------------------------------------------------------------------


def measure_baseline(port: int, count: int, label: str) -> BurstResult:
    say(f"measuring baseline GET /hello x {count} ({label})")
    result = burst(port, [Request("GET", BASELINE_PATH)] * count, connections=BASELINE_CONNECTIONS)
    if result.other_than(200):
        raise BenchError(f"baseline answered {result.statuses}: {result.first_error}")
    return result


def run(args: argparse.Namespace, workdir: Path, servers: list[Server]) -> int:
    """The whole fan-out benchmark; returns 0, or 1 when a round was wrong."""
    machine = report.machine()
    workdir.mkdir(parents=True, exist_ok=True)
    timeout_s = args.fanout_probe_timeout
    stack = Stack(args, workdir, servers)
    peers = Peers(LATENCIES_MS)
    try:
        stack.prepare()
        stack.start()
        peers.start()
        setup_django(stack.env)
        try:
            measured = _measure(args, stack, peers, timeout_s)
        finally:
            close_django()
    finally:
        stack.stop()
        peers.stop()
        stack.cleanup()
    return _report(args, machine, stack, peers.peers, measured)


def _measure(args, stack: Stack, peers: Peers, timeout_s: float):
    assert stack.baseline is not None
    say("creating the services: 8 http targets, and 8 on the 0 ms peer for the warm-up")
    service = create_service("fanout", peers.peers, timeout_s)
    warmup_peers = _warmup_peers(peers)
    warmup = create_service("fanout-warmup", warmup_peers, timeout_s)
    # Warm the worker's threads (database connections, imports) and this process's broker
    # connection with a set that finishes at once, and the baseline with a short burst.
    say("warming up")
    warmup_round = measure_round(0, warmup, warmup_peers, timeout_s)
    if warmup_round.problems:
        raise BenchError(
            "the warm-up set failed: "
            + "; ".join(warmup_round.problems)
            + (f"\n{stack.worker.log_tail()}" if stack.worker else "")
        )
    burst(stack.baseline_port, [Request("GET", BASELINE_PATH)] * 400, connections=10)
    baselines = [measure_baseline(stack.baseline_port, args.fanout_baseline_requests, "before")]
    rounds = []
    roots = {server.process.pid for server in (stack.worker, stack.baseline) if server.process}
    cpu_before = cpu.snapshot(roots)
    for number in range(1, args.fanout_rounds + 1):
        say(f"round {number}: health check of 8 targets, one hanging ({timeout_s:g} s)")
        result = measure_round(number, service, peers.peers, timeout_s)
        peers.release_hung_connections()
        rounds.append(result)
        if result.set_s is None:
            break  # the worker is stuck or gone: more rounds would only wait as long again
    cpu_during = cpu.usage(cpu_before, cpu.snapshot(roots))
    run_timeout_s = max(run_timeouts(rounds[0].diagnosis_id), default=timeout_s)
    say(f"sequential reference: the same probes one after another (timeout {run_timeout_s:g} s)")
    sequential = sequential_reference(service, peers.peers, run_timeout_s)
    sequential.problems = check_runs(sequential.runs, len(peers.peers), timeout_s)
    peers.release_hung_connections()
    baselines.append(measure_baseline(stack.baseline_port, args.fanout_baseline_requests, "after"))
    return Measured(rounds, sequential, baselines, run_timeout_s, cpu_during)


def _warmup_peers(peers: Peers) -> list[Peer]:
    """Eight targets on the 0 ms peer (distinct names: a service's target names are unique)."""
    fast = peers.peers[0]
    return [Peer(f"warm-{index}", fast.url, fast.latency_ms) for index in range(len(peers.peers))]


# --- output -------------------------------------------------------------------------------


def _spread(values: list[float]) -> tuple[float, float, float]:
    return min(values), statistics.median(values), max(values)


def _report(args, machine, stack: Stack, peers: list[Peer], measured: Measured) -> int:
    timeout_s = args.fanout_probe_timeout
    rounds, sequential, baselines = measured.rounds, measured.sequential, measured.baselines
    best = max(baselines, key=lambda result: result.requests_per_second)
    first, second = (result.requests_per_second for result in baselines)
    spread = abs(first - second) / max(first, second) if max(first, second) else 0.0
    finished = [result for result in rounds if result.set_s is not None]
    problems = [(f"round {r.number}", problem) for r in rounds for problem in r.problems]
    problems += [("sequential", problem) for problem in sequential.problems]

    print()
    print(_header(args, machine, stack, peers, measured.run_timeout_s))
    print()
    print(_rounds_table(rounds, timeout_s))
    print()
    print(_targets_table(peers, rounds, sequential))
    print()
    print(_explanation(finished, sequential, best, first, second, spread, timeout_s))
    print(
        f"checked every round: {len(peers)} runs done, {peers[-1].name} error "
        f"'timed out after {timeout_s:g}s', the {len(peers) - 1} others ok, set finished: "
        + ("yes" if not problems else "NO (see below)")
    )
    used = measured.cpu_during_rounds
    print(_cpu_line(used))
    if spread > NOISY_SPREAD:
        print(
            f"warning: the baseline runs differ by {spread:.0%} (more than {NOISY_SPREAD:.0%}): "
            "something else was using the CPU; treat these figures as rough and run again"
        )
    if used.others > NOISY_OTHERS:
        print(
            f"warning: other processes used {used.others:.2f} CPUs during the rounds "
            f"({used.busiest_others()}); run durations and latencies include waiting for the CPU"
        )
    path = report.write_json(
        _json(args, machine, stack, peers, measured, best, spread),
        report.RESULTS_DIR / "probe_fanout.json",
    )
    print(f"results: {path}")
    for where, problem in problems:
        say(f"{where}: {problem}")
    return 1 if problems or not finished else 0


def _header(args, machine, stack: Stack, peers, run_timeout_s: float) -> str:
    load = ", ".join(f"{value:.2f}" for value in machine["loadavg_at_start"])
    assert stack.worker is not None
    latencies = ", ".join(str(peer.latency_ms) for peer in peers if not peer.hangs)
    return "\n".join(
        [
            f"Probe fan-out, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine['cpus']} CPUs "
            f"(load average at start {load}), Python {machine['python']}, "
            f"Django {machine['django']}",
            f"probes:   {shlex.join(['celery', *stack.worker.argv[1:]])}",
            f"          PostgreSQL {storm_db.database_name(args.fanout_database_url)}, "
            f"Redis db {args.fanout_redis_url.rsplit('/', 1)[-1]}, queue {stack.probe_queue}",
            f"set:      health_check_start on a service with {len(peers)} http targets -> "
            f"{len(peers)} {PROBE} runs as one Celery group",
            f"targets:  {len(peers) - 1} peers answer 200 after {latencies} ms; 1 accepts TCP "
            f"and never answers; target timeout_s {args.fanout_probe_timeout:g} "
            f"(run timeout {run_timeout_s:g} s, {PROBE}'s default)",
            f"baseline: bare Django JSON view, no middleware, no DB; gunicorn 2 sync workers; "
            f"python http.client, {BASELINE_CONNECTIONS} keep-alive threads",
        ]
    )


def _rounds_table(rounds: list[Round], timeout_s: float) -> str:
    header = (
        f"{'round':<7} {'set s':>7} {'set/timeout':>12} {'sum of runs s':>14} {'set/sum':>8} "
        f"{'slowest s':>10} {'overhead ms':>12} {'pickup ms':>10}  runs"
    )
    lines = [header, "-" * (len(header) + 20)]
    for result in rounds:
        statuses: dict[str, int] = {}
        for run in result.runs:
            statuses[run.status or run.state] = statuses.get(run.status or run.state, 0) + 1
        counts = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
        if result.set_s is None:
            lines.append(f"{result.number:<7} {'timeout':>7}  {counts}")
            continue
        lines.append(
            f"{result.number:<7} {result.set_s:>7.3f} {result.set_s / timeout_s:>11.3f}x "
            f"{result.sum_s:>14.3f} {result.set_s / result.sum_s:>8.3f} "
            f"{result.slowest_s:>10.3f} {result.overhead_ms:>12.0f} "
            f"{_number(result.last_pickup_ms, '.0f'):>10}  {counts}"
        )
    finished = [result for result in rounds if result.set_s is not None]
    if len(finished) > 1:
        for label, pick in zip(("min", "median", "max"), range(3), strict=True):
            set_s = _spread([r.set_s for r in finished])[pick]
            sum_s = _spread([r.sum_s for r in finished])[pick]
            ratio = _spread([r.set_s / r.sum_s for r in finished])[pick]
            slowest = _spread([r.slowest_s for r in finished])[pick]
            overhead = _spread([r.overhead_ms for r in finished])[pick]
            pickups = [r.last_pickup_ms for r in finished if r.last_pickup_ms is not None]
            pickup = _spread(pickups)[pick] if pickups else None
            lines.append(
                f"{label:<7} {set_s:>7.3f} {set_s / timeout_s:>11.3f}x {sum_s:>14.3f} "
                f"{ratio:>8.3f} {slowest:>10.3f} {overhead:>12.0f} {_number(pickup, '.0f'):>10}"
            )
    return "\n".join(lines)


def _targets_table(peers, rounds: list[Round], sequential: Sequential) -> str:
    header = (
        f"{'target':<12} {'peer ms':>8}  {'status in the sets':<20} "
        f"{'run ms min/median/max':>22} {'probe saw ms':>13} {'sequential ms':>14} "
        f"{'probe saw ms':>13}"
    )
    lines = [header, "-" * len(header)]
    sequential_by_target = {run.target: run for run in sequential.runs}
    for peer in peers:
        runs = [run for result in rounds for run in result.runs if run.target == peer.name]
        statuses: dict[str, int] = {}
        for run in runs:
            statuses[run.status or run.state] = statuses.get(run.status or run.state, 0) + 1
        status_text = ", ".join(f"{status} x{n}" for status, n in statuses.items())
        durations = [run.duration_ms for run in runs if run.duration_ms is not None]
        duration_text = (
            "/".join(f"{value:.0f}" for value in _spread(durations)) if durations else "-"
        )
        reported = [run.reported_latency_ms for run in runs if run.reported_latency_ms is not None]
        reference = sequential_by_target.get(peer.name)
        lines.append(
            f"{peer.name:<12} {'hangs' if peer.hangs else peer.latency_ms:>8}  {status_text:<20} "
            f"{duration_text:>22} "
            f"{_number(statistics.median(reported) if reported else None, '.0f'):>13} "
            f"{_number(reference.duration_ms if reference else None, 'd'):>14} "
            f"{_number(reference.reported_latency_ms if reference else None, '.0f'):>13}"
        )
    return "\n".join(lines)


def _explanation(finished, sequential, best, first, second, spread, timeout_s) -> str:
    rps = best.requests_per_second
    lines = [
        "set = from health_check_start() in this process until it sees Diagnosis.finished_at "
        f"(polled every {POLL_S * 1000:.0f} ms)",
        f"set/timeout = set / the hanging target's timeout ({timeout_s:g} s): 1.0x means the "
        "hang cost the set its own timeout and nothing more",
        "set/sum = set / the sum of the runs' duration_ms: about 1 when they run one after "
        "another; the floor is slowest/sum (they all run at once)",
        "overhead = set - slowest run (queueing, broker, claiming and storing runs, completing "
        "the set, polling); pickup = set stored -> its last run started on a worker thread",
        "run ms = the runs' duration_ms; probe saw ms = the latency http.health measured and "
        "judged (raw.latency_ms, median; warning >= 1000 ms by default)",
    ]
    if finished:
        median_set = statistics.median(r.set_s for r in finished)
        median_overhead = statistics.median(r.overhead_ms for r in finished)
        lines.append(
            f"sequential reference ({PROBE} x {len(sequential.runs)} one after another in this "
            f"process, diagnostics.runner.run_probe): {sequential.seconds:.3f} s = "
            f"{sequential.seconds / median_set:.2f}x the median set"
        )
        lines.append(
            f"baseline: {rps:.1f} req/s (the faster of {first:.1f} and {second:.1f}, "
            f"{spread:.0%} apart); the median set ({median_set:.3f} s) is the time of "
            f"{median_set * rps:,.0f} baseline requests, its overhead ({median_overhead:.0f} ms) "
            f"of {median_overhead / 1000 * rps:,.0f}"
        )
    return "\n".join(lines)


def _cpu_line(used: cpu.Usage) -> str:
    def total(prefix: str) -> float:
        return sum(value for name, value in used.cpus.items() if name.startswith(prefix))

    others = used.busiest_others()
    return (
        f"CPUs in use during the rounds ({os.cpu_count()} CPUs, {used.seconds:.1f} s): "
        f"benchmark {total('benchmark'):.2f} (probes worker, peers, polling), "
        f"postgres {total('postgres'):.2f}, redis {total('redis'):.2f}, "
        f"others {used.others:.2f}" + (f" ({others})" if others else "")
    )


def _number(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _json(args, machine, stack: Stack, peers, measured: Measured, best, spread) -> dict:
    assert stack.worker is not None and stack.baseline is not None
    rounds, sequential, baselines = measured.rounds, measured.sequential, measured.baselines
    finished = [result for result in rounds if result.set_s is not None]

    def summary(values: list[float]) -> dict | None:
        if not values:
            return None
        low, middle, high = _spread(values)
        return {"min": round(low, 4), "median": round(middle, 4), "max": round(high, 4)}

    timeout_s = args.fanout_probe_timeout
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "probes_worker": shlex.join(["celery", *stack.worker.argv[1:]]),
        "database": "postgresql",
        "redis_db": args.fanout_redis_url.rsplit("/", 1)[-1],
        "probe": PROBE,
        "probe_timeout_s": timeout_s,
        "targets": [asdict(peer) for peer in peers],
        "baseline": {
            "command": shlex.join(["gunicorn", *stack.baseline.argv[1:]]),
            "runs": [_burst_json(result) for result in baselines],
            "used": "fastest run",
            "spread": round(spread, 4),
        },
        "summary": {
            "set_s": summary([r.set_s for r in finished]),
            "set_over_timeout": summary([r.set_s / timeout_s for r in finished]),
            "set_over_sum": summary([r.set_s / r.sum_s for r in finished]),
            "sum_of_runs_s": summary([r.sum_s for r in finished]),
            "slowest_run_s": summary([r.slowest_s for r in finished]),
            "overhead_ms": summary([r.overhead_ms for r in finished]),
            "set_in_baseline_requests": summary(
                [r.set_s * best.requests_per_second for r in finished]
            ),
        },
        "cpus_during_rounds": {
            "seconds": round(measured.cpu_during_rounds.seconds, 2),
            **measured.cpu_during_rounds.cpus,
        },
        "rounds": [
            {
                "round": r.number,
                "set_s": round(r.set_s, 4) if r.set_s is not None else None,
                "sum_of_runs_s": r.sum_s,
                "slowest_run_s": r.slowest_s,
                "last_pickup_ms": r.last_pickup_ms,
                "runs": [asdict(run) for run in r.runs],
                "problems": r.problems,
            }
            for r in rounds
        ],
        "sequential": {
            "seconds": sequential.seconds,
            "runs": [asdict(run) for run in sequential.runs],
            "problems": sequential.problems,
        },
    }


def _burst_json(result: BurstResult) -> dict:
    data = asdict(result)
    data.pop("started_at")
    data["statuses"] = {str(code): n for code, n in result.statuses.items()}
    return data


# --- `python -m bench.probe_fanout` -------------------------------------------------------


def _stop_on_signal(signum, frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.probe_fanout",
        description="8 http.health probes, one target hanging, on the Procfile `probes` worker "
        "(PostgreSQL + Redis): the set should take about the hanging target's timeout. "
        "See bench/README.md.",
    )
    add_arguments(parser, prefix="--")
    args = parser.parse_args(argv)
    check_arguments(parser, args)
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGHUP, _stop_on_signal)
    workdir = Path(tempfile.mkdtemp(prefix="ops-portal-fanout-"))
    servers: list[Server] = []
    try:
        return run(args, workdir, servers)
    except BenchError as exc:
        say(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for server in reversed(servers):
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        signal.signal(signal.SIGINT, signal.default_int_handler)


if __name__ == "__main__":
    raise SystemExit(main())
