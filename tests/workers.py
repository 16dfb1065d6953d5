"""A real Celery worker process for tests: Redis broker, the test's PostgreSQL database.

Each worker consumes its own queue, so parallel runs sharing one Redis never take each
other's tasks.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class WorkerProcess:
    queue: str
    hostname: str
    process: subprocess.Popen

    def alive(self) -> bool:
        return self.process.poll() is None


@contextmanager
def celery_worker(
    prefix: str = "test", env: dict | None = None, *, pool: str = "solo", concurrency: int = 1
) -> Iterator[WorkerProcess]:
    """Start a worker on a fresh queue against the current test database; stop it after.

    `pool="threads"` with a concurrency runs it like the Procfile's `probes` worker.
    """
    queue = f"{prefix}-{uuid.uuid4().hex[:8]}"
    hostname = f"{queue}@test"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_QUEUE": queue,
        "DATABASE_POOL": "0",
        "DJANGO_ALLOW_ASYNC_UNSAFE": "",
        **(env or {}),
    }
    command = [sys.executable, "-m", "celery", "-A", "ops_portal", "worker", "--pool", pool]
    if pool != "solo":
        command += ["--concurrency", str(concurrency)]
    command += ["--loglevel", "WARNING", "--hostname", hostname, "-Q", queue]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield WorkerProcess(queue=queue, hostname=hostname, process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
