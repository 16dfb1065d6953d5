"""What every PostgreSQL probe shares: the read-only session, error translation and SQL helpers.

`read_only_session` opens one short connection with the DSN from the environment variable the
target names (`dsn_env`), inside a READ ONLY transaction (and `default_transaction_read_only=on`
as a second lock), with `statement_timeout` bounded by both the target config and the probe
timeout. Connection errors become `ProbeUnreachable` with a short message built from the host,
port, user and database — never from the DSN, so a password cannot leak through an error text.
The helpers below turn bounded queries (`count(*) OVER ()` as `total`) into findings tables.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import errors, sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from rest_framework import serializers

from ..base import ProbeConfigError, ProbeUnreachable, Status, Table, secret_from_env

APPLICATION_NAME = "ops-portal-probe"
QUERY_CHARS = 500  # of a query's text in a finding
MAX_ROWS = 200


# --- connection -------------------------------------------------------------------------------


class Session:
    """A read-only cursor on the target plus what the probes need to know about the server."""

    def __init__(self, cursor: psycopg.Cursor, where: str, statement_timeout_ms: int):
        self.cursor = cursor
        self.where = where  # "host:port/dbname", for messages
        self.statement_timeout_ms = statement_timeout_ms
        self.server_version = cursor.connection.info.server_version  # e.g. 150020
        self.database = cursor.connection.info.dbname

    def rows(self, query: str | sql.Composed, params: tuple = ()) -> list[dict]:
        try:
            self.cursor.execute(query, params)
            return self.cursor.fetchall()
        except errors.QueryCanceled as exc:
            raise ProbeUnreachable(
                f"query cancelled by statement_timeout ({self.statement_timeout_ms} ms) "
                f"on {self.where}"
            ) from exc
        except errors.InsufficientPrivilege as exc:
            raise ProbeUnreachable(
                f"permission denied on {self.where}: {exc.diag.message_primary}"
            ) from exc
        except psycopg.OperationalError as exc:
            if self.cursor.connection.broken or self.cursor.connection.closed:
                raise ProbeUnreachable(f"lost the connection to {self.where}") from exc
            raise  # a server-side condition (e.g. a library not preloaded): the caller decides

    def one(self, query: str | sql.Composed, params: tuple = ()) -> dict:
        return self.rows(query, params)[0]


@contextmanager
def read_only_session(target, timeout_s: float) -> Iterator[Session]:
    """Connect with bounded timeouts inside a READ ONLY transaction; always roll back."""
    with open_session(target, timeout_s, read_only=True) as session:
        yield session


@contextmanager
def open_session(
    target, timeout_s: float, *, read_only: bool, application_name: str = APPLICATION_NAME
) -> Iterator[Session]:
    """One short connection with the DSN the target names and bounded timeouts.

    `read_only=True` (probes): a READ ONLY transaction plus `default_transaction_read_only`,
    never committed. `read_only=False` (remediation actions): autocommit, so a statement such
    as ALTER SYSTEM, which cannot run in a transaction block, takes effect at once.
    """
    config = target.config
    dsn = secret_from_env(config, "dsn_env")
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        # The parser's message quotes the DSN, so it is not passed on.
        raise ProbeConfigError(
            f"the DSN in environment variable {config['dsn_env']} is not a valid PostgreSQL "
            "connection string"
        ) from exc
    where = _describe(parts)
    statement_ms = int(max(100, min(config["statement_timeout_ms"], timeout_s * 1000)))
    connect_s = max(1, min(config["connect_timeout_s"], math.ceil(timeout_s)))
    options = f"-c statement_timeout={statement_ms}"
    if read_only:
        options += " -c default_transaction_read_only=on"
    try:
        connection = psycopg.connect(
            dsn,
            connect_timeout=connect_s,
            application_name=application_name,
            options=options,
            autocommit=not read_only,
        )
    except psycopg.Error as exc:
        raise ProbeUnreachable(_connect_failure(exc, parts, where, connect_s)) from None
    try:
        if read_only:
            connection.read_only = True  # the first statement opens BEGIN READ ONLY
        with connection.cursor(row_factory=dict_row) as cursor:
            yield Session(cursor, where, statement_ms)
    finally:
        connection.close()  # a read-only session never commits: the server discards it


def _describe(parts: dict) -> str:
    host = parts.get("host") or parts.get("hostaddr") or "localhost"
    port = parts.get("port") or "5432"
    return f"{host}:{port}/{parts.get('dbname') or parts.get('user') or 'postgres'}"


def _connect_failure(exc: psycopg.Error, parts: dict, where: str, connect_s: int) -> str:
    """A short reason built from known pieces; libpq's text is only matched, never copied."""
    text = str(exc).lower()
    address = where.rsplit("/", 1)[0]
    if "connection refused" in text:
        return f"connection refused: {address}"
    if "timeout expired" in text or "timed out" in text:
        return f"connection timed out after {connect_s} s: {address}"
    if "could not translate host name" in text or "name or service not known" in text:
        return f"unknown host: {address}"
    if "authentication failed" in text or "password" in text:
        return f"authentication failed for user {parts.get('user', '?')} on {address}"
    if "does not exist" in text and "database" in text:
        return f"database {parts.get('dbname', '?')} does not exist on {address}"
    if "pg_hba.conf" in text:
        return f"connection rejected by pg_hba.conf on {address}"
    if "too many clients" in text or "remaining connection slots" in text:
        return f"no connection slots left on {address} (max_connections reached)"
    return f"could not connect to {address} ({type(exc).__name__})"


# --- shared helpers ---------------------------------------------------------------------------


def table_of(
    name: str, title: str, columns: list[str], key: tuple[str, ...], rows: list[dict]
) -> Table:
    """A findings table whose columns are the query's column aliases, cut rows counted."""
    table = Table(name, title, columns, key=key)
    for row in rows:
        table.add(*(row[column] for column in columns))
    total = int(rows[0]["total"]) if rows else 0
    if total > len(rows):
        table.total_rows = total
    return table


def total_of(rows: list[dict]) -> int:
    """The `count(*) OVER ()` of a bounded query: how many rows there were before LIMIT."""
    return int(rows[0]["total"]) if rows else 0


def flag(count: int) -> str:
    """Warning when there is at least one finding."""
    return Status.WARNING if count else Status.OK


class ThresholdPair(serializers.Serializer):
    """Params with a warning and a critical threshold; critical must not be below warning."""

    pair: tuple[str, str] = ("warning", "critical")

    def validate(self, attrs):
        warning, critical = (attrs[name] for name in self.pair)
        if critical < warning:
            raise serializers.ValidationError({self.pair[1]: [f"Must be ≥ {self.pair[0]}."]})
        return attrs
