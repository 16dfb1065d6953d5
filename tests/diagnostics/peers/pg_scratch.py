"""Scratch PostgreSQL databases and background sessions for the PostgreSQL probe tests.

The probes read server-wide statistics, so their tests need real sessions doing real things:
a session left idle in a transaction, a statement sleeping in the background, a lock someone
waits on. Each test gets its own database (`probe_scratch_<random>`) on the server Django is
configured with — never Django's test database — dropped WITH (FORCE) afterwards, so a test
that fails half-way leaves nothing behind.

Replication cannot be set up on the shared server (its pg_hba.conf allows no replication
connections, and it must not be reconfigured), so `primary_and_standby()` builds a private
pair: initdb, start, pg_basebackup -R, start the standby — on free loopback ports in a
temporary directory, stopped and removed afterwards.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psycopg
from django.conf import settings
from psycopg import sql
from psycopg.conninfo import make_conninfo

WAIT_S = 10  # how long to wait for a background session to reach the state a test needs


def server_conninfo(dbname: str = "postgres") -> str:
    """Connection string for `dbname` on the server of Django's default database."""
    database = settings.DATABASES["default"]
    return make_conninfo(
        host=database.get("HOST") or "127.0.0.1",
        port=str(database.get("PORT") or 5432),
        user=database.get("USER") or "postgres",
        password=database.get("PASSWORD") or None,
        dbname=dbname,
        connect_timeout="5",
    )


def admin_connection() -> psycopg.Connection:
    return psycopg.connect(server_conninfo(), autocommit=True)


def wait_until(condition: Callable[[], object], what: str, timeout_s: float = WAIT_S):
    """Poll `condition` until it returns something truthy (waiting for a state, not time)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class ScratchDatabase:
    def __init__(self, name: str):
        self.name = name
        self.dsn = server_conninfo(name)

    def connect(
        self, application: str = "probe-test", autocommit: bool = True, user: str | None = None
    ):
        """A session of this database, as `user` (trust auth) or as the server's user."""
        extra = {"user": user} if user else {}
        return psycopg.connect(
            self.dsn, autocommit=autocommit, application_name=application, **extra
        )

    def execute(self, *statements: str) -> None:
        """Run statements in one autocommit session and flush its table statistics."""
        with self.connect() as connection:
            for statement in statements:
                connection.execute(statement)
            flush_statistics(connection)

    def set(self, setting: str, value: str) -> None:
        """ALTER DATABASE … SET: what new sessions of this database (the probe's) will see."""
        with admin_connection() as admin:
            admin.execute(
                sql.SQL("ALTER DATABASE {} SET {} = {}").format(
                    sql.Identifier(self.name), sql.Identifier(setting), sql.Literal(value)
                )
            )

    def activity(self, pid: int) -> dict | None:
        """The pg_stat_activity row of one backend, seen from another session."""
        with admin_connection() as admin:
            row = admin.execute(
                "SELECT state, wait_event_type, wait_event, query FROM pg_stat_activity"
                " WHERE pid = %s",
                (pid,),
            ).fetchone()
        if row is None:
            return None
        return dict(zip(("state", "wait_event_type", "wait_event", "query"), row, strict=True))


def flush_statistics(connection: psycopg.Connection) -> None:
    """Make this session's table counters visible to others now.

    PostgreSQL 15+ keeps a backend's statistics pending for up to a second; this function asks
    for a flush when the backend next goes idle, which happens before the statement's result
    reaches us — so the counters are published once this call returns.
    """
    connection.execute("SELECT pg_stat_force_next_flush()")


@contextmanager
def scratch_database(prefix: str = "probe_scratch") -> Iterator[ScratchDatabase]:
    database = ScratchDatabase(f"{prefix}_{secrets.token_hex(4)}")
    with admin_connection() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database.name)))
    try:
        yield database
    finally:
        with admin_connection() as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(database.name)
                )
            )


@contextmanager
def scratch_role(prefix: str = "probe_role") -> Iterator[str]:
    """A LOGIN role without superuser (roles are server-wide: random name, dropped after).

    Open it before the scratch database it connects to, so the database (and with it every
    session of the role) is gone by the time the role is dropped.
    """
    name = f"{prefix}_{secrets.token_hex(4)}"
    with admin_connection() as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with admin_connection() as admin:
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


@contextmanager
def idle_in_transaction(
    database: ScratchDatabase,
    *statements: str,
    application: str = "probe-test-holder",
    user: str | None = None,
) -> Iterator[psycopg.Connection]:
    """A session that ran `statements` in an open transaction and now sits idle in it."""
    connection = database.connect(application, autocommit=False, user=user)
    try:
        for statement in statements or ("SELECT 1",):
            connection.execute(statement)
        yield connection
    finally:
        connection.close()  # the server rolls the transaction back


class BackgroundStatement:
    """A statement running in its own session and thread until `stop()` cancels it."""

    def __init__(
        self,
        database: ScratchDatabase,
        statement: str,
        application: str,
        user: str | None = None,
    ):
        self.database = database
        self.statement = statement
        self.connection = database.connect(application, user=user)
        self.pid = self.connection.info.backend_pid
        self.error: BaseException | None = None
        self.cancelled = False
        self._thread = threading.Thread(target=self._run, name=f"pg:{application}", daemon=True)

    def _run(self) -> None:
        try:
            self.connection.execute(self.statement)
        except psycopg.errors.QueryCanceled:
            self.cancelled = True  # what stop() does (or a test's pg_cancel_backend)
        except BaseException as exc:
            self.error = exc

    def start(self, *, waiting_on: str | None = None) -> BackgroundStatement:
        """Start, then wait until the server shows it running (and waiting on `waiting_on`)."""
        self._thread.start()

        def running():
            row = self.database.activity(self.pid)
            return (
                row is not None
                and row["state"] == "active"
                and row["query"] == self.statement
                and (waiting_on is None or row["wait_event_type"] == waiting_on)
            )

        wait_until(running, f"pid {self.pid} to run {self.statement!r}")
        return self

    def outcome(self, timeout_s: float = WAIT_S) -> BaseException | None:
        """Wait for the statement to end (cancelled or terminated from elsewhere); return and
        clear what it raised, so `stop()` does not re-raise an error the test expected."""
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            raise AssertionError(f"pid {self.pid} is still running {self.statement!r}")
        error, self.error = self.error, None
        return error

    def stop(self) -> None:
        if self._thread.is_alive():
            self.connection.cancel_safe()
            self._thread.join(WAIT_S)
        self.connection.close()
        if self.error is not None:
            raise self.error


@contextmanager
def background_statement(
    database: ScratchDatabase,
    statement: str,
    *,
    application: str = "probe-test-sleeper",
    waiting_on: str | None = None,
    user: str | None = None,
) -> Iterator[BackgroundStatement]:
    running = BackgroundStatement(database, statement, application, user)
    try:
        yield running.start(waiting_on=waiting_on)
    finally:
        running.stop()


# --- a private primary and standby ------------------------------------------------------------


def postgres_bin_dir() -> Path | None:
    """The newest installed server binaries (Debian's layout), or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    return Path(found[-1]).parent if found else None


def private_cluster_unavailable() -> str | None:
    """Why a private cluster cannot be started here, or None when it can."""
    if postgres_bin_dir() is None:
        return "needs PostgreSQL server binaries (/usr/lib/postgresql/*/bin)"
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return "running as root without runuser: cannot start postgres as the postgres user"
    return None


def _as_postgres(command: list[str]) -> list[str]:
    # The server refuses to run as root; as root, run it as the postgres system user.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(command: list[str]) -> None:
    done = subprocess.run(_as_postgres(command), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {done.stderr.strip() or done.stdout.strip()}")


class PrivateCluster:
    def __init__(self, data_dir: Path, port: int):
        self.data_dir, self.port = data_dir, port
        self.dsn = make_conninfo(
            host="127.0.0.1", port=str(port), user="postgres", dbname="postgres"
        )

    def start(self, bin_dir: Path, *options: str) -> None:
        server_options = " ".join(
            [f"-p {self.port}", "-c listen_addresses=127.0.0.1",
             f"-c unix_socket_directories={self.data_dir}", *options]
        )  # fmt: skip
        _run([str(bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-w", "-t", "60",
              "-l", str(self.data_dir / "server.log"), "-o", server_options, "start"])  # fmt: skip

    def stop(self, bin_dir: Path) -> None:
        _run([str(bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "stop"])

    def execute(self, statement: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.dsn, autocommit=True) as connection:
            cursor = connection.execute(statement, params)
            return cursor.fetchall() if cursor.description else []


@contextmanager
def primary_and_standby(standby_name: str) -> Iterator[tuple[PrivateCluster, PrivateCluster]]:
    """A streaming-replication pair; the standby connects as application `standby_name`."""
    bin_dir = postgres_bin_dir()
    with ExitStack() as cleanup:
        workdir = Path(tempfile.mkdtemp(prefix="probe-pg-"))
        cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
        if os.geteuid() == 0:
            shutil.chown(workdir, "postgres", "postgres")
        primary = PrivateCluster(workdir / "primary", _free_port())
        _run([str(bin_dir / "initdb"), "-D", str(primary.data_dir), "-U", "postgres",
              "--auth=trust", "--no-sync"])  # fmt: skip
        primary.start(bin_dir, "-c fsync=off")
        cleanup.callback(primary.stop, bin_dir)
        standby = PrivateCluster(workdir / "standby", _free_port())
        _run([str(bin_dir / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port),
              "-U", "postgres", "-D", str(standby.data_dir), "-R", "-X", "stream", "-N"])  # fmt: skip
        standby.start(bin_dir, "-c fsync=off", f"-c cluster_name={standby_name}")
        cleanup.callback(standby.stop, bin_dir)
        wait_until(
            lambda: primary.execute(
                "SELECT 1 FROM pg_stat_replication WHERE application_name = %s"
                " AND state = 'streaming'",
                (standby_name,),
            ),
            "the standby to stream",
        )
        yield primary, standby


def wait_for_replay(primary: PrivateCluster, standby: PrivateCluster) -> None:
    """Wait until the standby has replayed everything the primary has written so far."""
    target = primary.execute("SELECT pg_current_wal_lsn()::text")[0][0]
    wait_until(
        lambda: standby.execute(
            "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), %s::pg_lsn) >= 0", (target,)
        )[0][0],
        "the standby to replay",
    )
