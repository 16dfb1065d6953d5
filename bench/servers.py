"""Start and stop the gunicorn servers the benchmark measures.

Each server runs in its own session (process group), so Ctrl-C in the terminal reaches only the
benchmark, which then stops the master and, if anything is left, the whole group by its id.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from bench.errors import BenchError
from bench.load import fetch

ROOT = Path(__file__).resolve().parent.parent
BASELINE_PATH = "/hello"
# Not resolved: the virtualenv's bin/ holds the gunicorn script, its python may be a symlink.
VENV_BIN = Path(sys.executable).parent

_SHELL_VAR = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)")


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports on 127.0.0.1, sorted."""
    ports: set[int] = set()
    for _ in range(count * 10):
        ports.add(free_port())
        if len(ports) == count:
            return sorted(ports)
    raise BenchError("could not find free ports on 127.0.0.1")


def gunicorn_executable() -> str:
    candidate = VENV_BIN / "gunicorn"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("gunicorn")
    if not found:
        raise BenchError("gunicorn is not installed (run `make install`)")
    return found


def procfile_command(process: str, env: Mapping[str, str]) -> list[str]:
    """Return the Procfile line for `process` as argv, `${X:-default}` expanded like a shell."""

    def expand(match: re.Match) -> str:
        name = match.group(1) or match.group(3)
        return env.get(name) or (match.group(2) or "")

    for line in (ROOT / "Procfile").read_text().splitlines():
        name, sep, command = line.partition(":")
        if sep and name.strip() == process:
            return shlex.split(_SHELL_VAR.sub(expand, command))
    raise BenchError(f"Procfile has no {process!r} line")


def bind_loopback(argv: list[str], port: int) -> list[str]:
    """Replace the command's --bind (0.0.0.0 in the Procfile) with 127.0.0.1:port."""
    argv = list(argv)
    address = f"127.0.0.1:{port}"
    for index, arg in enumerate(argv):
        if arg in ("--bind", "-b") and index + 1 < len(argv):
            argv[index + 1] = address
            return argv
        if arg.startswith("--bind="):
            argv[index] = f"--bind={address}"
            return argv
    return [*argv, "--bind", address]


class Server:
    """One gunicorn master (and its workers), logging to a file."""

    def __init__(
        self, name: str, argv: list[str], env: Mapping[str, str], port: int, log_path: Path
    ):
        self.name = name
        self.argv = argv
        self.env = dict(env)
        self.port = port
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self._log = None

    def start(self) -> None:
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, path: str, timeout: float = 60.0) -> None:
        """Wait until `path` answers 200; fail early if the master dies."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise BenchError(
                    f"{self.name} exited with status {code} before it was ready:\n{self.log_tail()}"
                )
            try:
                status = fetch(self.port, path, timeout=5).status
            except OSError as exc:
                last = type(exc).__name__
            else:
                if status == 200:
                    return
                last = f"HTTP {status}"
            time.sleep(0.2)
        raise BenchError(f"{self.name} not ready after {timeout:.0f}s ({last}):\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 15.0) -> None:
        """Stop gracefully (SIGTERM to the master); SIGKILL the group if that hangs.

        A gunicorn master reaps its workers before exiting, and workers exit when their master
        dies, so nothing outlives a master that has exited.
        """
        process = self.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                # The master is still alive, so its pid is still our group's id (start new
                # session): kill the master and its workers together.
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=timeout)
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None


def baseline_server(port: int, log_path: Path, name: str = "baseline") -> Server:
    """ARCHITECTURE.md §7's baseline: a bare Django JSON view, gunicorn, 2 sync workers."""
    argv = [
        gunicorn_executable(),
        "bench.hello_wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--worker-class",
        "sync",
    ]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.hello_settings"}
    return Server(name, argv, env, port, log_path)


def web_server(env: Mapping[str, str], port: int, log_path: Path, name: str = "portal") -> Server:
    """The Procfile's `web` line as production runs it, bound to 127.0.0.1:port."""
    argv = bind_loopback(procfile_command("web", env), port)
    if argv[0] != "gunicorn":
        raise BenchError(f"Procfile `web` no longer starts gunicorn: {shlex.join(argv)}")
    argv[0] = gunicorn_executable()
    return Server(name, argv, env, port, log_path)


def start_both(baseline: Server, web: Server, servers: list[Server], say) -> None:
    """Start the baseline and the portal; return once both answer (`servers` gets both first,
    so the caller's cleanup stops them whatever happens)."""
    for server in (baseline, web):
        say(f"starting {server.name} on 127.0.0.1:{server.port}")
        servers.append(server)
        server.start()
    baseline.wait_ready(BASELINE_PATH)
    web.wait_ready("/health")
