"""Run the benchmark: both servers up, same client for each endpoint, table and JSON out.

Order: baseline, every portal endpoint, baseline again. The faster baseline run is the one
divided by (ARCHITECTURE.md §7: never compare against a slower baseline).
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import signal
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench import alert_storm, portal, probe_fanout, report, status_surge
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

# Two baseline runs further apart than this mean the machine was busy during the run.
NOISY_SPREAD = 0.15
# (label, path, auth): what the portal is measured on.
ENDPOINTS = [
    ("GET /health", "/health", "none"),
    ("GET /api/v1/services/", "/api/v1/services/", "token"),
    ("GET /services/", "/services/", "session"),
]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure the portal (Procfile `web`) against a bare Django baseline: "
        "the HTTP endpoints, the status surge (the public status page under 50 clients, on "
        "PostgreSQL and Redis), the alert storm (Procfile `web` + `worker` on PostgreSQL and "
        "Redis), then the probe fan-out (Procfile `probes`). See bench/README.md.",
    )
    surge = parser.add_mutually_exclusive_group()
    surge.add_argument("--surge-only", action="store_true", help="run only the status surge")
    surge.add_argument("--skip-surge", action="store_true", help="skip the status surge")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--storm-only", action="store_true", help="run only the alert storm")
    which.add_argument("--skip-storm", action="store_true", help="skip the alert storm")
    fanout = parser.add_mutually_exclusive_group()
    fanout.add_argument("--fanout-only", action="store_true", help="run only the probe fan-out")
    fanout.add_argument("--skip-fanout", action="store_true", help="skip the probe fan-out")
    parser.add_argument("--duration", type=int, default=8, help="seconds per measurement (8)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds per endpoint (2)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections (16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument(
        "--client",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="load client: wrk when installed (auto), else Python threads",
    )
    parser.add_argument("--skip-pages", action="store_true", help="measure no HTML page")
    status_surge.add_arguments(parser)
    alert_storm.add_arguments(parser)
    probe_fanout.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.surge_only + args.storm_only + args.fanout_only > 1:
        parser.error("--surge-only, --storm-only and --fanout-only exclude each other")
    if args.duration < 1 or args.warmup < 0 or args.connections < 1 or args.threads < 1:
        parser.error("--duration and --connections/--threads must be >= 1, --warmup >= 0")
    status_surge.check_arguments(parser, args)
    alert_storm.check_arguments(parser, args)
    probe_fanout.check_arguments(parser, args)
    return args


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def _stop_on_signal(signum, frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM/SIGHUP take the same path as Ctrl-C, so `finally` stops the servers.
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGHUP, _stop_on_signal)
    workdir = Path(tempfile.mkdtemp(prefix="ops-portal-bench-"))
    servers: list[Server] = []
    try:
        status = 0
        if not (args.surge_only or args.storm_only or args.fanout_only):
            try:
                status = _run(args, workdir / "http", servers)
            except BenchError as exc:
                say(f"error: {exc}")
                status = 1
            _stop_all(servers)
        if not (args.skip_surge or args.storm_only or args.fanout_only):
            try:
                status = max(status, status_surge.run(args, workdir / "surge", servers))
            except BenchError as exc:
                say(f"surge error: {exc}")
                status = 1
        if not (args.skip_storm or args.surge_only or args.fanout_only):
            try:
                status = max(status, alert_storm.run(args, workdir / "storm", servers))
            except BenchError as exc:
                say(f"storm error: {exc}")
                status = 1
        # Last: it loads Django into this process (to start probe sets as the portal does).
        if not (args.skip_fanout or args.surge_only or args.storm_only):
            try:
                status = max(status, probe_fanout.run(args, workdir / "fanout", servers))
            except BenchError as exc:
                say(f"fan-out error: {exc}")
                status = 1
        return status
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    finally:
        # A second Ctrl-C must not cut the cleanup short; stop() is bounded by its timeouts.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _stop_all(servers)
        shutil.rmtree(workdir, ignore_errors=True)
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _stop_all(servers: list[Server]) -> None:
    while servers:
        server = servers.pop()
        say(f"stopping {server.name}")
        server.stop()


def _run(args: argparse.Namespace, workdir: Path, servers: list[Server]) -> int:
    workdir.mkdir(parents=True, exist_ok=True)
    machine = report.machine()  # before the servers start: the load average says how quiet it was
    client = choose_client(
        args.client, threads=args.threads, connections=args.connections, workdir=workdir
    )
    baseline_port, portal_port = free_ports(2)
    env = portal.portal_env(workdir / "var", portal_port)
    backends = portal.backends(env)

    say(f"preparing the portal: migrate, seed_demo, create_api_token ({backends['database']})")
    token = portal.prepare(env)
    baseline, web = _start_servers(env, baseline_port, portal_port, workdir, servers)

    rows = _portal_rows(args, portal_port, token)
    targets = {row.label: row.target for row in rows if row.target and not row.failure}
    baseline_target = Target(baseline_port, BASELINE_PATH)
    say(f"client: {client.describe(args.duration)}, {args.warmup}s warm-up per endpoint")
    baseline_runs = [_measure(client, "baseline GET /hello", baseline_target, args)]
    for row in rows:
        if row.label in targets:
            row.result = _measure(client, f"portal {row.label}", targets[row.label], args)
            # A session or token that lapsed mid-run would turn into redirects or 401s.
            failure, _ = _preflight(targets[row.label])
            if failure:
                row.failure = f"after the run: {failure}"
    baseline_runs.append(_measure(client, "baseline GET /hello (again)", baseline_target, args))
    best = max(baseline_runs, key=lambda result: result.requests_per_second)
    baseline_row = report.Row("baseline", "GET /hello", "none", result=best)
    baseline_row.response_bytes = _preflight(baseline_target)[1]
    _stop_all(servers)

    all_rows = [baseline_row, *rows]
    first, second = (run.requests_per_second for run in baseline_runs)
    spread = abs(first - second) / max(first, second) if max(first, second) else 0.0
    print(_header(client, args, machine, backends, web.argv))
    print()
    print(report.table(all_rows, best))
    print(
        f"\nvs baseline = portal req/s / the faster of two baseline runs "
        f"({first:.1f} and {second:.1f} req/s, {spread:.0%} apart)"
    )
    if spread > NOISY_SPREAD:
        print(
            f"warning: the baseline runs differ by more than {NOISY_SPREAD:.0%}: something else "
            "was using the CPU; treat these figures as rough and run again on a quiet machine"
        )
    path = report.write_json(
        {
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "client": {
                "name": client.name,
                "command": client.describe(args.duration),
                "connections": args.connections,
            },
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "machine": machine,
            "backends": backends,
            "baseline": {
                "command": _display_command(baseline.argv),
                "runs": [vars(run) for run in baseline_runs],
                "used": "fastest run",
                "spread": round(spread, 4),
            },
            "portal": {"command": _display_command(web.argv), "procfile": "web"},
            "endpoints": [row.as_json(best) for row in all_rows],
        },
        keep=(status_surge.RESULTS_SECTION,),
    )
    print(f"results: {path}")
    failed = [row for row in rows if row.failure and not row.failure.startswith("skipped")]
    for row in failed:
        say(f"{row.label}: {row.failure}")
    return 1 if failed else 0


def _start_servers(
    env: dict[str, str], baseline_port: int, portal_port: int, workdir: Path, servers: list
) -> tuple[Server, Server]:
    """Start the baseline and the portal's Procfile `web` line; return once both answer."""
    baseline = baseline_server(baseline_port, workdir / "b.log")
    web = web_server(env, portal_port, workdir / "portal.log")
    start_both(baseline, web, servers, say)
    return baseline, web


def _portal_rows(args: argparse.Namespace, port: int, token: str) -> list[report.Row]:
    """One row per portal endpoint, with its target, or why it cannot be measured."""
    headers: dict[str, dict[str, str]] = {
        "none": {},
        "token": {"Authorization": f"Bearer {token}", "Accept": "application/json"},
    }
    rows = []
    for label, path, auth in ENDPOINTS:
        row = report.Row("portal", label, auth)
        rows.append(row)
        if auth == "session":
            if args.skip_pages:
                row.failure = "skipped (--skip-pages)"
                continue
            try:
                headers["session"] = {"Cookie": portal.session_cookie(port)}
            except BenchError as exc:
                row.failure = str(exc)
                continue
        row.target = Target(port, path, headers[auth])
        row.failure, row.response_bytes = _preflight(row.target)
    return rows


def _preflight(target: Target) -> tuple[str, int]:
    """Return why `target` is not measurable (anything but a 200) or "", and the body size."""
    try:
        answer = fetch(target.port, target.path, headers=target.headers)
    except OSError as exc:
        return f"{target.path}: {type(exc).__name__}", 0
    if answer.status != 200:
        location = answer.headers.get("Location", "")
        return (
            f"{target.path} answered {answer.status}" + (f" -> {location}" if location else ""),
            0,
        )
    return "", len(answer.body)


def _measure(client, name: str, target: Target, args: argparse.Namespace) -> LoadResult:
    if args.warmup:
        client.run(target, args.warmup)
    say(f"measuring {name} for {args.duration}s")
    return client.run(target, args.duration)


def _display_command(argv: list[str]) -> str:
    return shlex.join(["gunicorn", *argv[1:]])


def _header(
    client, args: argparse.Namespace, machine: dict, backends: dict, portal_argv: list[str]
) -> str:
    load = ", ".join(f"{value:.2f}" for value in machine["loadavg_at_start"])
    return "\n".join(
        [
            f"Ops Portal benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
            f"{machine['cpus']} CPUs (load average at start {load}), "
            f"Python {machine['python']}, Django {machine['django']}, "
            f"gunicorn {machine['gunicorn']}",
            f"client:   {client.describe(args.duration)}, {args.warmup}s warm-up, "
            "same for every row",
            "baseline: bare Django JSON view, no middleware, no DB; gunicorn 2 sync workers",
            f"portal:   {_display_command(portal_argv)}",
            f"          database {backends['database']}, cache {backends['cache']}",
        ]
    )
