"""Prepare the portal for measurement: database, demo data, an API token, a signed-in session."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from bench.errors import BenchError
from bench.load import fetch
from bench.servers import ROOT, VENV_BIN

# The same default as settings.DEMO_PASSWORD; read here without importing the settings, so the
# benchmark process itself never loads Django.
DEMO_USER = "admin"
DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "ops-portal-demo")


def portal_env(var_dir: Path, port: int) -> dict[str, str]:
    """The environment the Procfile line runs in: the caller's, with a private VAR_DIR.

    DATABASE_URL and REDIS_URL pass through, so a set environment measures PostgreSQL/Redis;
    unset, settings put a fresh SQLite file (and the secret key, broker folder) in VAR_DIR.
    """
    env = dict(os.environ)
    env.update(
        VAR_DIR=str(var_dir),
        DJANGO_SETTINGS_MODULE="ops_portal.settings",
        WEB_CONCURRENCY="2",
        PORT=str(port),
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def backends(env: Mapping[str, str]) -> dict[str, str]:
    """Name the database and cache in use, without the URLs (they can carry passwords)."""
    database_url = env.get("DATABASE_URL", "")
    database = database_url.split("://", 1)[0] if database_url else "sqlite (fresh, temp VAR_DIR)"
    return {
        "database": database,
        "cache": "redis" if env.get("REDIS_URL") else "locmem",
    }


def manage(env: Mapping[str, str], *args: str, timeout: float = 300) -> str:
    """Run `manage.py args` and return its stdout; fail with its stderr."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise BenchError(f"manage.py {' '.join(args)} failed ({done.returncode}):\n{tail}")
    return done.stdout


def prepare(env: Mapping[str, str]) -> str:
    """Migrate, seed the demo data and return a new API token for the demo admin."""
    manage(env, "migrate", "--noinput")
    manage(env, "seed_demo")
    output = manage(env, "create_api_token", DEMO_USER, "--name", "bench")
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    if not lines:
        raise BenchError("manage.py create_api_token printed no token")
    return lines[-1]


def session_cookie(port: int) -> str:
    """Sign in through the /login/ form; return the Cookie header of the signed-in session."""
    page = fetch(port, "/login/")
    if page.status != 200:
        raise BenchError(f"GET /login/ answered {page.status}")
    csrf = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
    cookies = _set_cookies(page.headers)
    if not csrf or "csrftoken" not in cookies:
        raise BenchError("GET /login/ gave no CSRF token")
    form = {
        "username": DEMO_USER,
        "password": DEMO_PASSWORD,
        "csrfmiddlewaretoken": csrf.group(1).decode(),
    }
    answer = fetch(
        port,
        "/login/",
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": _cookie_header(cookies),
        },
        body=urlencode(form).encode(),
    )
    if answer.status != 302:
        raise BenchError(
            f"signing in as {DEMO_USER!r} answered {answer.status}, not 302 "
            "(a changed demo password? set DEMO_PASSWORD)"
        )
    cookies.update(_set_cookies(answer.headers))
    return _cookie_header(cookies)


def _set_cookies(headers) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for value in headers.get_all("Set-Cookie") or []:
        jar.load(value)
    return {name: morsel.value for name, morsel in jar.items()}


def _cookie_header(cookies: Mapping[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())
