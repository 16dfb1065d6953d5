"""Helpers shared by the incidents tests: fixed clocks, legal paths, threads with own connections."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from incidents.models import Status

# A Wednesday noon: far from weekends, so business-hours rules never interfere by accident.
T0 = datetime(2025, 6, 4, 12, 0, tzinfo=UTC)

# A legal path from `triggered` to each status (the moves after declaring).
PATH_TO: dict[str, tuple[str, ...]] = {
    Status.TRIGGERED: (),
    Status.ACKNOWLEDGED: (Status.ACKNOWLEDGED,),
    Status.INVESTIGATING: (Status.ACKNOWLEDGED, Status.INVESTIGATING),
    Status.MITIGATING: (Status.ACKNOWLEDGED, Status.INVESTIGATING, Status.MITIGATING),
    Status.RESOLVED: (
        Status.ACKNOWLEDGED,
        Status.INVESTIGATING,
        Status.MITIGATING,
        Status.RESOLVED,
    ),
    Status.CLOSED: (
        Status.ACKNOWLEDGED,
        Status.INVESTIGATING,
        Status.MITIGATING,
        Status.RESOLVED,
        Status.CLOSED,
    ),
}


def check_timeline(*args: str) -> str:
    """Run `manage.py check_timeline` and return what it wrote (CommandError propagates)."""
    out = io.StringIO()
    call_command("check_timeline", *args, stdout=out)
    return out.getvalue()


def check_timeline_failure(*args: str) -> tuple[str, str]:
    """Run `check_timeline` expecting it to fail; return (error message, what it wrote)."""
    out = io.StringIO()
    try:
        call_command("check_timeline", *args, stdout=out)
    except CommandError as error:
        return str(error), out.getvalue()
    raise AssertionError(f"check_timeline passed:\n{out.getvalue()}")


@contextmanager
def pool_room_for(threads: int) -> Iterator[None]:
    """Let `threads` connections be open at once when psycopg's pool is on (it caps at 10).

    Without this, threads beyond the pool size would wait for a returned connection and the
    test would measure less concurrency than it claims.
    """
    pool = getattr(connection, "pool", None)
    if pool is None or pool.max_size > threads:
        yield
        return
    min_size, max_size = pool.min_size, pool.max_size
    pool.resize(min_size, threads + 1)
    try:
        yield
    finally:
        pool.resize(min_size, max_size)


def run_together(count: int, work: Callable[[int], object], *, timeout: float = 120) -> list:
    """Run work(0..count-1) in threads released at once by a barrier; return their results.

    Each thread uses its own Django connection (connections are per thread), opened before the
    barrier so all are open at once, and closes it when done, so the pool gets it back and the
    test database can be flushed afterwards.
    """
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def runner(index: int) -> None:
        try:
            # Connect first, so every thread holds its own connection when the barrier opens.
            connection.ensure_connection()
            barrier.wait(timeout=30)
            results[index] = work(index)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not [thread for thread in threads if thread.is_alive()], "threads still running"
    assert not errors, f"{len(errors)} thread(s) failed: {errors!r}"
    return results
