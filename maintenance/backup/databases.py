"""Sessions on the source and scratch servers: connect, snapshot, create and drop databases.

The scratch database is created from template0 (nothing an admin added to template1 may show up
as a schema difference) under a name only this module makes, and `drop_database` refuses any
other name: whatever a row says, the sweeper can never drop a real database.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import errors, sql

from .tools import BackupToolError, Deadline, Endpoint

SCRATCH_PREFIX = "opsportal_verify_"
SCRATCH_NAME = re.compile(rf"^{SCRATCH_PREFIX}\d+_[0-9a-f]{{8}}$")


def scratch_name(check_id: int) -> str:
    # The random part keeps a retried check off a database an earlier attempt left behind.
    return f"{SCRATCH_PREFIX}{check_id}_{secrets.token_hex(4)}"


@contextmanager
def session(
    endpoint: Endpoint, *, deadline: Deadline, autocommit: bool = True
) -> Iterator[psycopg.Connection]:
    """One connection with bounded connect and statement time; errors become BackupToolError."""
    left = deadline.remaining(f"connecting to {endpoint.describe()}")
    connect_s = max(1, min(int(endpoint.params.get("connect_timeout", 5)), math.ceil(left)))
    try:
        connection = psycopg.connect(
            endpoint.conninfo(),
            password=endpoint.password,
            connect_timeout=connect_s,
            autocommit=autocommit,
        )
    except psycopg.Error as exc:
        raise BackupToolError(
            f"could not connect to {endpoint.describe()}: {_connect_reason(exc)}"
        ) from None
    try:
        yield connection
    finally:
        connection.close()


def execute(
    connection: psycopg.Connection, query, params=None, *, deadline: Deadline, what: str
) -> list[tuple]:
    """Run one statement within what is left of the check's time."""
    left_ms = int(deadline.remaining(what) * 1000)
    try:
        connection.execute("SELECT set_config('statement_timeout', %s, false)", (str(left_ms),))
        cursor = connection.execute(query, params)
        return cursor.fetchall() if cursor.description else []
    except errors.QueryCanceled:
        raise BackupToolError(f"the check ran out of time while {what}") from None
    except psycopg.OperationalError as exc:
        if connection.broken or connection.closed:
            raise BackupToolError(f"lost the connection while {what}") from None
        raise BackupToolError(f"{what} failed: {exc.diag.message_primary or exc}") from None
    except psycopg.Error as exc:
        raise BackupToolError(f"{what} failed: {exc.diag.message_primary or exc}") from None


@contextmanager
def exported_snapshot(
    endpoint: Endpoint, *, deadline: Deadline
) -> Iterator[tuple[psycopg.Connection, str]]:
    """A read-only REPEATABLE READ transaction and its exported snapshot id.

    pg_dump --snapshot=<id> then sees exactly what this transaction sees, so the row counts
    taken here match the dump even while the source keeps taking writes. The snapshot lives
    as long as the transaction: keep the block open until the last pg_dump has finished.
    """
    with session(endpoint, deadline=deadline, autocommit=False) as connection:
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        connection.read_only = True
        rows = execute(
            connection,
            "SELECT pg_export_snapshot()",
            deadline=deadline,
            what=f"exporting a snapshot of {endpoint.describe()}",
        )
        try:
            yield connection, rows[0][0]
        finally:
            if not connection.broken:
                connection.rollback()


def create_database(server: Endpoint, name: str, *, deadline: Deadline) -> None:
    with session(server, deadline=deadline) as connection:
        execute(
            connection,
            sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)),
            deadline=deadline,
            what=f"creating the scratch database {name} on {server.describe()}",
        )


def drop_database(server: Endpoint, name: str, *, deadline: Deadline) -> None:
    if not SCRATCH_NAME.match(name):
        raise BackupToolError(f"refusing to drop {name!r}: not a scratch database name")
    with session(server, deadline=deadline) as connection:
        # WITH (FORCE) (PostgreSQL 13+) also ends sessions a killed pg_restore left behind.
        force = " WITH (FORCE)" if connection.info.server_version >= 130000 else ""
        execute(
            connection,
            sql.SQL("DROP DATABASE IF EXISTS {}" + force).format(sql.Identifier(name)),
            deadline=deadline,
            what=f"dropping the scratch database {name} on {server.describe()}",
        )


def _connect_reason(exc: psycopg.Error) -> str:
    """A short reason from libpq's text (matched, then redacted by BackupToolError)."""
    text = str(exc).lower()
    if "connection refused" in text:
        return "connection refused"
    if "timeout expired" in text or "timed out" in text:
        return "connection timed out"
    if "could not translate host name" in text or "name or service not known" in text:
        return "unknown host"
    if "password authentication failed" in text or "no password supplied" in text:
        return "authentication failed"
    if "does not exist" in text:
        return str(exc).strip().splitlines()[-1]
    if "pg_hba.conf" in text:
        return "rejected by pg_hba.conf"
    return type(exc).__name__
