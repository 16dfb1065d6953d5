"""HTTP on loopback: one-off requests, and the two load clients (wrk, or Python threads).

Both clients hold `connections` keep-alive connections open and send requests back to back for a
fixed duration; the baseline and the portal are always measured with the same client instance.
"""

from __future__ import annotations

import http.client
import math
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.errors import BenchError

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def fetch(
    port: int,
    path: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 10.0,
) -> Response:
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Response(response.status, response.msg, response.read())
    finally:
        connection.close()


@dataclass(frozen=True)
class Target:
    """What to load: a path on a local port, with the headers every request carries."""

    port: int
    path: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}{self.path}"


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx/3xx answers plus socket errors and timeouts


class WrkClient:
    name = "wrk"

    def __init__(self, executable: str, *, threads: int, connections: int, workdir: Path):
        self.executable = executable
        self.threads = min(threads, connections)
        self.connections = connections
        self.workdir = workdir

    @classmethod
    def find(cls) -> str | None:
        return shutil.which("wrk")

    def describe(self, seconds: float) -> str:
        return f"wrk -t{self.threads} -c{self.connections} -d{seconds:g}s --latency"

    def run(self, target: Target, seconds: float) -> LoadResult:
        # Headers go through a script file rather than argv, so credentials stay out of `ps`.
        script = self.workdir / "headers.lua"
        lines = [
            f'wrk.headers["{name}"] = [==[{value}]==]' for name, value in target.headers.items()
        ]
        script.write_text("\n".join(lines) + "\n")
        script.chmod(0o600)
        argv = [
            self.executable,
            f"-t{self.threads}",
            f"-c{self.connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "--latency",
            "-s",
            str(script),
            target.url,
        ]
        # Not subprocess.run: on Ctrl-C it kills wrk without reaping it; this always reaps.
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=seconds + 60)
        except subprocess.TimeoutExpired as exc:
            raise BenchError(f"wrk did not finish within {seconds + 60:g}s") from exc
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
        if process.returncode != 0:
            raise BenchError(f"wrk failed ({process.returncode}): {stderr or stdout}")
        return parse_wrk(stdout)


_WRK_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _wrk_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        raise BenchError(f"cannot read wrk latency {text!r}")
    return float(match.group(1)) * _WRK_UNITS_MS[match.group(2)]


def parse_wrk(output: str) -> LoadResult:
    """Read requests, duration, req/s, p50/p99 and errors from `wrk --latency` output."""
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h)", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s*50(?:\.0+)?%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s*99(?:\.0+)?%\s+(\S+)", output, re.MULTILINE)
    if not (total and rps and p50 and p99):
        raise BenchError(f"cannot read wrk output:\n{output}")
    errors = 0
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if sockets:
        errors += sum(int(count) for count in sockets.groups())
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        errors += int(non_2xx.group(1))
    return LoadResult(
        requests=int(total.group(1)),
        seconds=_wrk_ms(total.group(2) + total.group(3)) / 1000,
        requests_per_second=float(rps.group(1)),
        p50_ms=_wrk_ms(p50.group(1)),
        p99_ms=_wrk_ms(p99.group(1)),
        errors=errors,
    )


class PythonClient:
    """Threads, each with one http.client keep-alive connection, until a deadline.

    Slower than wrk and it shares the GIL, but the ratios stay fair: the baseline is measured
    with this same client. Bounded twice over: by the deadline and by a per-connection cap.
    """

    name = "python"
    MAX_REQUESTS_PER_CONNECTION = 1_000_000
    MAX_ERRORS_PER_CONNECTION = 1_000

    def __init__(self, *, connections: int):
        self.connections = connections

    def describe(self, seconds: float) -> str:
        return f"python http.client, {self.connections} threads x keep-alive, {seconds:g}s"

    def run(self, target: Target, seconds: float) -> LoadResult:
        latencies: list[list[float]] = [[] for _ in range(self.connections)]
        errors = [0] * self.connections
        start = time.perf_counter()
        deadline = start + seconds
        threads = [
            threading.Thread(
                target=self._connection_loop,
                args=(target, deadline, latencies[index], errors, index),
                daemon=True,
            )
            for index in range(self.connections)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
        samples = sorted(value for chunk in latencies for value in chunk)
        return LoadResult(
            requests=len(samples),
            seconds=round(elapsed, 3),
            requests_per_second=len(samples) / elapsed if elapsed else 0.0,
            p50_ms=_percentile(samples, 50) * 1000,
            p99_ms=_percentile(samples, 99) * 1000,
            errors=sum(errors),
        )

    def _connection_loop(
        self,
        target: Target,
        deadline: float,
        latencies: list[float],
        errors: list[int],
        index: int,
    ) -> None:
        # http.client reconnects by itself after a `Connection: close` answer (sync workers).
        connection = http.client.HTTPConnection(HOST, target.port, timeout=10)
        failed = 0
        try:
            for _ in range(self.MAX_REQUESTS_PER_CONNECTION):
                now = time.perf_counter()
                if now >= deadline or failed >= self.MAX_ERRORS_PER_CONNECTION:
                    break
                try:
                    connection.request("GET", target.path, headers=target.headers)
                    response = connection.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException):
                    failed += 1
                    connection.close()
                    continue
                latencies.append(time.perf_counter() - now)
                if response.status >= 400:
                    failed += 1
        finally:
            connection.close()
            errors[index] = failed


def _percentile(samples: list[float], percent: float) -> float:
    """Nearest-rank percentile of sorted samples (0 when there are none)."""
    if not samples:
        return 0.0
    rank = max(1, math.ceil(percent / 100 * len(samples)))
    return samples[rank - 1]


def choose_client(kind: str, *, threads: int, connections: int, workdir: Path):
    """wrk when installed (`kind` "auto" or "wrk"), else the Python client ("python" forces it)."""
    wrk = WrkClient.find()
    if kind == "wrk" and not wrk:
        raise BenchError("--client wrk, but wrk is not installed (apt-get install wrk)")
    if kind != "python" and wrk:
        return WrkClient(wrk, threads=threads, connections=connections, workdir=workdir)
    return PythonClient(connections=connections)
