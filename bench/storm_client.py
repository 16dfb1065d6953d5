"""The alert storm's HTTP client: N threads, each with its own keep-alive connection, working
through one fixed list of requests as fast as the server answers.

Every thread connects first; the clock starts when all of them are connected (a real storm
comes from senders that already hold connections). Each request is timed from just before it
is sent to the end of its response body. The baseline is measured with this same client, so the
ratio compares like with like (ARCHITECTURE.md §7).
"""

from __future__ import annotations

import http.client
import itertools
import math
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass
class BurstResult:
    requests: int  # answered requests (any status)
    seconds: float  # from the start signal to the last response
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[int, int]  # HTTP status -> count
    socket_errors: int  # no answer at all (connection reset, timeout)
    replayed: int  # answers carrying `Idempotent-Replayed: true`
    started_at: float  # time.monotonic() at the start signal
    first_error: str = ""

    def count(self, status: int) -> int:
        return self.statuses.get(status, 0)

    def other_than(self, status: int) -> int:
        return self.requests - self.count(status) + self.socket_errors


def percentile(sorted_samples: Sequence[float], percent: float) -> float:
    """Nearest-rank percentile of sorted samples (0 when there are none)."""
    if not sorted_samples:
        return 0.0
    rank = max(1, math.ceil(percent / 100 * len(sorted_samples)))
    return sorted_samples[rank - 1]


def burst(
    port: int,
    requests: Sequence[Request],
    *,
    connections: int = 10,
    timeout: float = 30.0,
    on_start=None,
) -> BurstResult:
    """Send every request once, `connections` at a time; `on_start(monotonic)` at the start."""
    next_index = itertools.count()  # next() on a count is atomic under the GIL
    ready = threading.Barrier(connections + 1)
    samples: list[list[tuple[float, int, bool]]] = [[] for _ in range(connections)]
    failures: list[list[str]] = [[] for _ in range(connections)]
    finished = [0.0] * connections

    def worker(slot: int) -> None:
        connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
        mine, errors = samples[slot], failures[slot]
        try:
            try:
                connection.connect()
            except OSError as exc:
                errors.append(f"connect: {type(exc).__name__}: {exc}")
            ready.wait()
            while True:
                index = next(next_index)
                if index >= len(requests):
                    break
                request = requests[index]
                sent = time.perf_counter()
                try:
                    # http.client reconnects by itself after a `Connection: close` answer.
                    connection.request(
                        request.method, request.path, body=request.body, headers=request.headers
                    )
                    response = connection.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException) as exc:
                    errors.append(f"{request.method} {request.path}: {type(exc).__name__}: {exc}")
                    connection.close()
                    continue
                replayed = response.getheader("Idempotent-Replayed") == "true"
                mine.append((time.perf_counter() - sent, response.status, replayed))
        finally:
            finished[slot] = time.perf_counter()
            connection.close()

    threads = [
        threading.Thread(target=worker, args=(slot,), daemon=True, name=f"storm-{slot}")
        for slot in range(connections)
    ]
    for thread in threads:
        thread.start()
    ready.wait()
    start = time.perf_counter()
    started_at = time.monotonic()
    if on_start is not None:
        on_start(started_at)
    for thread in threads:
        thread.join()
    elapsed = max(finished) - start
    flat = [sample for chunk in samples for sample in chunk]
    latencies = sorted(sample[0] for sample in flat)
    errors = [message for chunk in failures for message in chunk]
    return BurstResult(
        requests=len(flat),
        seconds=round(elapsed, 4),
        requests_per_second=len(flat) / elapsed if elapsed > 0 else 0.0,
        p50_ms=percentile(latencies, 50) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
        max_ms=(latencies[-1] if latencies else 0.0) * 1000,
        statuses=dict(sorted(Counter(sample[1] for sample in flat).items())),
        socket_errors=len(errors),
        replayed=sum(1 for sample in flat if sample[2]),
        started_at=started_at,
        first_error=errors[0] if errors else "",
    )
