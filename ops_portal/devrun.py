"""`make run`: the web server, a Celery worker and Celery beat in one command.

Starts the three processes, waits until /health answers, prints the URL and the demo logins,
and stops all three on Ctrl-C or as soon as one of them exits (a half-running portal is worse
than a stopped one). Production runs these as separate Procfile processes instead.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

DEMO_USERS = ("admin", "commander", "responder", "viewer")


def _commands(host: str, port: int) -> dict[str, list[str]]:
    python = sys.executable
    return {
        "web": [
            python,
            "-m",
            "uvicorn",
            "ops_portal.asgi:application",
            "--host",
            host,
            "--port",
            str(port),
            "--no-access-log",
            "--lifespan",
            "off",
        ],
        "worker": [
            python,
            "-m",
            "celery",
            "-A",
            "ops_portal",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            "2",
            "--hostname",
            "worker@%h",
        ],
        # Diagnostic probes on threads (Procfile `probes`): a probe set runs side by side.
        "probes": [
            python,
            "-m",
            "celery",
            "-A",
            "ops_portal",
            "worker",
            "--queues",
            "probes",
            "--pool",
            "threads",
            "--concurrency",
            "8",
            "--loglevel",
            "INFO",
            "--hostname",
            "probes@%h",
        ],
        "beat": [python, "-m", "celery", "-A", "ops_portal", "beat", "--loglevel", "INFO"],
    }


def _wait_until_up(url: str, processes: dict, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(proc.poll() is not None for proc in processes.values()):
            return False
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (our own loopback URL)
                return True
        except urllib.error.HTTPError:
            return True  # answering at all is "up"; /health itself says what is degraded
        except OSError:
            time.sleep(0.3)
    return False


def _stop(processes: dict) -> None:
    for proc in processes.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    for proc in processes.values():
        try:
            proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            proc.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ops_portal.settings")
    os.environ.setdefault("DEBUG", "1")
    # Celery's filesystem broker folders must exist before worker and beat start.
    from django.conf import settings

    for key in ("data_folder_in", "control_folder"):
        folder = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}).get(key)
        if folder:
            os.makedirs(folder, exist_ok=True)

    processes = {
        name: subprocess.Popen(cmd) for name, cmd in _commands(args.host, args.port).items()
    }
    # Ctrl-C reaches every child through the process group; we only need to wait for them.
    signal.signal(signal.SIGTERM, lambda *_: _stop(processes))

    url = f"http://{args.host}:{args.port}"
    try:
        if not _wait_until_up(f"{url}/health", processes):
            print("ops-portal: a process failed to start; stopping.", file=sys.stderr)
            _stop(processes)
            return 1
        password = settings.DEMO_PASSWORD
        broker = "Redis" if settings.REDIS_URL else "filesystem broker under var/"
        print(
            "\n"
            f"  Ops Portal is running at {url}/\n"
            f"  Database: {settings.DATABASE_VENDOR} · Celery: {broker}\n"
            f"  Demo logins (password '{password}'): {', '.join(DEMO_USERS)}\n"
            f"  API docs: {url}/api/docs/ · Health: {url}/health\n"
            "  Press Ctrl-C to stop.\n",
            flush=True,
        )
        while True:
            for name, proc in processes.items():
                if proc.poll() is not None:
                    print(
                        f"ops-portal: {name} exited with {proc.returncode}; stopping.",
                        file=sys.stderr,
                    )
                    _stop(processes)
                    return proc.returncode or 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nops-portal: stopping…", flush=True)
        _stop(processes)
        return 0


if __name__ == "__main__":
    sys.exit(main())
