"""`make run`'s process trio on embedded defaults: SQLite, filesystem broker, no Redis.

Runs the real commands in a scratch VAR_DIR: migrate, seed_demo, then `ops_portal.devrun`,
which must print the URL and demo logins, get a heartbeat through the filesystem broker to the
worker, and stop all processes on Ctrl-C.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _embedded_env(var_dir: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_ENV"}
    }
    env.update({"VAR_DIR": str(var_dir), "WORKER_HEARTBEAT_SECONDS": "2", "PYTHONUNBUFFERED": "1"})
    return env


def _health(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def test_devrun_serves_runs_the_worker_and_stops_everything_on_ctrl_c(tmp_path):
    env = _embedded_env(tmp_path / "var")
    for command in (["migrate", "--noinput"], ["seed_demo"]):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
    port = _free_port()
    runner = subprocess.Popen(
        [sys.executable, "-m", "ops_portal.devrun", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = runner.stdout.readline()
            output.append(line)
            if "Press Ctrl-C" in line or runner.poll() is not None:
                break
        banner = "".join(output)
        assert f"http://127.0.0.1:{port}/" in banner, banner
        assert "admin, commander, responder, viewer" in banner
        assert "Database: sqlite" in banner and "filesystem broker" in banner

        # The worker's first heartbeat travels beat/worker → filesystem broker → worker → DB.
        url = f"http://127.0.0.1:{port}/health"
        body = _health(url)
        while body["checks"]["broker"]["status"] != "ok" and time.monotonic() < deadline:
            time.sleep(0.5)
            body = _health(url)
        assert body["checks"]["broker"]["status"] == "ok", body
        assert body["checks"]["broker"]["transport"] == "filesystem"
        assert body["status"] == "healthy"
    finally:
        # Ctrl-C in a terminal signals the whole foreground process group.
        os.killpg(runner.pid, signal.SIGINT)
        try:
            runner.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(runner.pid, signal.SIGKILL)
            raise
    assert runner.returncode == 0
    leftover = subprocess.run(
        ["pgrep", "-g", str(runner.pid)], capture_output=True, text=True, check=False
    )
    assert leftover.stdout.strip() == "", "processes survived Ctrl-C"
