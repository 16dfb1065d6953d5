"""Run pg_dump and pg_restore with bounded time and no secret on the command line.

A DSN is split into libpq keywords: the password travels in PGPASSWORD in the child's
environment (readable only by the same OS user, where the command line is visible to every user
through ps), the rest as a conninfo string in --dbname. The child starts from an empty
environment plus PATH, HOME and a C locale, so the worker's own PG* variables can never point a
dump or a restore at another server, and libpq's messages are in English for matching.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from django.conf import settings
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from diagnostics.redaction import clip, redact

STDERR_CHARS = 1500  # of a failing tool's stderr kept in the error message
APPLICATION_NAME = "ops-portal-backup-check"


class BackupToolError(Exception):
    """A check could not be carried out (tool missing, connection refused, timeout, …).

    The message is redacted and short: it is stored on the check and shown on its page.
    """

    def __init__(self, message: str):
        super().__init__(clip(redact(message)))


class Deadline:
    """The time left for one whole check; every tool and query gets only what remains."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._ends = time.monotonic() + seconds

    def remaining(self, what: str) -> float:
        left = self._ends - time.monotonic()
        if left <= 0:
            raise BackupToolError(f"the check used up its {self.seconds:g} s before {what}")
        return left


@dataclass(frozen=True)
class Endpoint:
    """Where a tool or a session connects: libpq keywords and, kept apart, the password."""

    params: dict[str, str]
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_dsn(cls, dsn: str, *, what: str, connect_timeout_s: int = 5) -> Endpoint:
        try:
            params = conninfo_to_dict(dsn)
        except psycopg.ProgrammingError:
            # The parser's message quotes the DSN, so it is not passed on.
            raise BackupToolError(
                f"the {what} DSN is not a valid PostgreSQL connection string"
            ) from None
        if "sslpassword" in params:
            # libpq has no environment variable for it: it would have to go on the command line.
            raise BackupToolError(f"the {what} DSN has an sslpassword, which is not supported")
        password = params.pop("password", None)
        params.setdefault("connect_timeout", str(connect_timeout_s))
        params["application_name"] = APPLICATION_NAME
        return cls({key: str(value) for key, value in params.items()}, password)

    @property
    def dbname(self) -> str:
        return self.params.get("dbname") or self.params.get("user") or "postgres"

    def with_database(self, dbname: str) -> Endpoint:
        return Endpoint({**self.params, "dbname": dbname}, self.password)

    def describe(self) -> str:
        host = self.params.get("host") or self.params.get("hostaddr") or "localhost"
        return f"{host}:{self.params.get('port') or '5432'}/{self.dbname}"

    def conninfo(self) -> str:
        """The connection string without the password."""
        return make_conninfo(**self.params)

    def tool_env(self) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/"),
            "LC_ALL": "C",
        }
        if self.password is not None:
            env["PGPASSWORD"] = self.password
        return env


def tool_path(name: str) -> str:
    bin_dir = settings.MAINTENANCE_BACKUP_PG_BIN_DIR
    found = shutil.which(name, path=bin_dir or None)
    if found is None:
        where = f"in {bin_dir}" if bin_dir else "on PATH"
        raise BackupToolError(
            f"{name} not found {where}: install the PostgreSQL client tools "
            "(or set MAINTENANCE_BACKUP_PG_BIN_DIR)"
        )
    return found


def run_tool(
    name: str,
    args: list[str],
    *,
    endpoint: Endpoint,
    deadline: Deadline,
    file_argument: Path | None = None,
) -> subprocess.CompletedProcess:
    """Run one tool against `endpoint`; raise BackupToolError on a timeout or a failure."""
    timeout_s = deadline.remaining(f"running {name}")
    command = [tool_path(name), *args, "--no-password", f"--dbname={endpoint.conninfo()}"]
    if file_argument is not None:
        command.append(str(file_argument))
    try:
        done = subprocess.run(
            command,
            env=endpoint.tool_env(),
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        # run() has killed the child; its server session ends with the connection.
        raise BackupToolError(
            f"{name} timed out after {timeout_s:.0f} s on {endpoint.describe()}"
        ) from None
    except OSError as exc:
        raise BackupToolError(f"could not start {name}: {exc.strerror or exc}") from None
    if done.returncode != 0 and not _restore_completed(name, done):
        raise BackupToolError(
            f"{name} failed (exit {done.returncode}) on {endpoint.describe()}: {_tail(done.stderr)}"
        )
    return done


def _restore_completed(name: str, done: subprocess.CompletedProcess) -> bool:
    # pg_restore goes on past a failing statement and exits 1 with this line at the end: the
    # restore finished and the failures are part of the verdict, not a reason to stop.
    return name == "pg_restore" and "errors ignored on restore" in done.stderr


def _tail(text: str) -> str:
    text = text.strip() or "no error output"
    return text if len(text) <= STDERR_CHARS else "…" + text[-STDERR_CHARS:]


# --- the three tool calls of a check ----------------------------------------------------------


def dump_custom(
    endpoint: Endpoint, path: Path, *, deadline: Deadline, snapshot: str | None = None
) -> None:
    """A custom-format dump (what pg_restore reads) of the whole database into `path`."""
    args = ["--format=custom", f"--file={path}"]
    if snapshot:
        args.append(f"--snapshot={snapshot}")
    run_tool("pg_dump", args, endpoint=endpoint, deadline=deadline)


def dump_schema(endpoint: Endpoint, *, deadline: Deadline, snapshot: str | None = None) -> str:
    """The schema as SQL text, without owners and privileges (a restore drops both anyway)."""
    args = ["--schema-only", "--no-owner", "--no-acl"]
    if snapshot:
        args.append(f"--snapshot={snapshot}")
    return run_tool("pg_dump", args, endpoint=endpoint, deadline=deadline).stdout


def restore(endpoint: Endpoint, path: Path, *, deadline: Deadline) -> str:
    """Restore the dump into `endpoint`'s database; return pg_restore's complaints, if any."""
    args = ["--clean", "--if-exists", "--no-acl", "--no-owner"]
    done = run_tool("pg_restore", args, endpoint=endpoint, deadline=deadline, file_argument=path)
    return _tail(done.stderr) if done.returncode != 0 else ""
