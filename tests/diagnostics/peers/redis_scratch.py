"""Redis peers for the Redis probe tests.

`probe_db_url()` points at database 15 of the shared test Redis (the suite itself uses the
database in REDIS_URL): tests may FLUSHDB database 15, and only that one.

Some checks need server settings a shared server must not be given (a tiny maxmemory, an
eviction policy) or counters nobody else touches (keyspace hits are server-wide, and other
test runs use the shared server at the same time). For those, `private_redis()` starts a
throwaway `redis-server` on a free loopback port, without persistence, and stops it after.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import redis
from django.conf import settings

PROBE_DB = 15
START_TIMEOUT_S = 10


def probe_db_url() -> str:
    """REDIS_URL's server (credentials included), database 15."""
    parts = urlsplit(settings.REDIS_URL)
    return urlunsplit((parts.scheme, parts.netloc, f"/{PROBE_DB}", "", ""))


@contextmanager
def flushed_probe_db() -> Iterator[redis.Redis]:
    """A client on database 15, emptied before and after the test."""
    client = redis.Redis.from_url(probe_db_url())
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()


def redis_server_binary() -> str | None:
    return shutil.which("redis-server")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def private_redis(*settings_args: str) -> Iterator[str]:
    """Start `redis-server` with extra `--name value` settings; yields its redis:// URL."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="probe-redis-") as workdir:
        command = [
            redis_server_binary() or "redis-server",
            "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", workdir, "--daemonize", "no", "--loglevel", "warning",
            *settings_args,
        ]  # fmt: skip
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        url = f"redis://127.0.0.1:{port}/0"
        try:
            wait_for_ping(url, process)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=START_TIMEOUT_S)
            if process.stderr:
                process.stderr.close()


def wait_for_ping(url: str, process: subprocess.Popen) -> None:
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while True:
            if process.poll() is not None:
                error = process.stderr.read().decode(errors="replace") if process.stderr else ""
                raise RuntimeError(f"redis-server exited: {error.strip()}")
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.02)
    finally:
        client.close()
