"""PostgreSQL probes: connection pressure, long and blocked queries, slow statements,
replication lag and table access patterns.

Each probe opens one short connection with the DSN from the environment variable the target
names (`dsn_env`), inside a READ ONLY transaction (and `default_transaction_read_only=on` as a
second lock), with `statement_timeout` bounded by both the target config and the probe timeout.
It reads the statistics views only (pg_stat_activity, pg_stat_statements, pg_stat_replication,
pg_stat_user_tables) and returns bounded tables. Connection errors become `ProbeUnreachable`
with a short message built from the host, port, user and database — never from the DSN, so a
password cannot leak through an error text.
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

from . import registry
from .base import (
    Check,
    Probe,
    ProbeConfigError,
    ProbeResult,
    ProbeUnreachable,
    Status,
    Table,
    level,
    secret_from_env,
)

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
    try:
        connection = psycopg.connect(
            dsn,
            connect_timeout=connect_s,
            application_name=APPLICATION_NAME,
            options=f"-c statement_timeout={statement_ms} -c default_transaction_read_only=on",
            autocommit=False,
        )
    except psycopg.Error as exc:
        raise ProbeUnreachable(_connect_failure(exc, parts, where, connect_s)) from None
    try:
        connection.read_only = True  # the first statement opens BEGIN READ ONLY
        with connection.cursor(row_factory=dict_row) as cursor:
            yield Session(cursor, where, statement_ms)
    finally:
        connection.close()  # never commits: the server discards the open transaction


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


def human_duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def human_bytes(value: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


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


# --- postgres.connections ---------------------------------------------------------------------

# Only client backends take max_connections slots (autovacuum, background workers and, since
# PostgreSQL 12, WAL senders have their own). Without pg_read_all_stats, other roles' sessions
# show a NULL state: counted as "hidden".
CONNECTIONS_BY_STATE_SQL = """
    SELECT coalesce(state, 'hidden') AS state, count(*) AS connections, count(*) OVER () AS total
    FROM pg_stat_activity WHERE backend_type = 'client backend'
    GROUP BY 1 ORDER BY 2 DESC, 1
"""
IDLE_IN_TRANSACTION_SQL = """
    SELECT pid, usename AS "user", datname AS database, application_name AS application, state,
        round(extract(epoch FROM clock_timestamp() - state_change)::numeric, 1)::float AS idle_s,
        round(extract(epoch FROM clock_timestamp() - xact_start)::numeric, 1)::float
            AS transaction_s,
        left(query, %s) AS query, count(*) OVER () AS total
    FROM pg_stat_activity
    WHERE backend_type = 'client backend'
        AND state IN ('idle in transaction', 'idle in transaction (aborted)')
        AND state_change <= clock_timestamp() - make_interval(secs => %s)
    ORDER BY state_change, pid LIMIT %s
"""
CONNECTIONS_BY_APPLICATION_SQL = """
    SELECT coalesce(datname, '') AS database, coalesce(usename, '') AS "user",
        coalesce(application_name, '') AS application, count(*) AS connections,
        count(*) FILTER (WHERE state = 'active') AS active,
        count(*) FILTER (WHERE state = 'idle') AS idle,
        count(*) FILTER (WHERE state LIKE 'idle in transaction%%') AS idle_in_transaction,
        count(*) OVER () AS total
    FROM pg_stat_activity WHERE backend_type = 'client backend'
    GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1, 2, 3 LIMIT %s
"""


class ConnectionsParams(ThresholdPair):
    pair = ("warning_percent", "critical_percent")
    warning_percent = serializers.FloatField(
        min_value=1, max_value=100, default=80, help_text="Warn at this % of usable connections."
    )
    critical_percent = serializers.FloatField(
        min_value=1, max_value=100, default=95, help_text="Critical at this % of usable ones."
    )
    idle_in_transaction_seconds = serializers.FloatField(
        min_value=0,
        max_value=86_400,
        default=60,
        help_text="Report sessions idle in a transaction at least this long (warning).",
    )
    max_rows = serializers.IntegerField(min_value=1, max_value=MAX_ROWS, default=50)


@registry.register
class ConnectionsProbe(Probe):
    name = "postgres.connections"
    kind = "postgres"
    title = "Connections and pool headroom"
    description = (
        "Client connections by state against max_connections minus the reserved slots, "
        "sessions idle in a transaction, and connections per database and application."
    )
    params_class = ConnectionsParams
    health = True

    def run(self, target, params: dict, timeout_s: float) -> ProbeResult:
        with read_only_session(target, timeout_s) as session:
            limits = session.one(
                "SELECT current_setting('max_connections')::int AS max_connections,"
                " current_setting('superuser_reserved_connections')::int AS superuser_reserved,"
                # reserved_connections exists from PostgreSQL 16 on (NULL before).
                " coalesce(current_setting('reserved_connections', true), '0')::int AS reserved"
            )
            by_state = session.rows(CONNECTIONS_BY_STATE_SQL)
            idle = session.rows(
                IDLE_IN_TRANSACTION_SQL,
                (QUERY_CHARS, float(params["idle_in_transaction_seconds"]), params["max_rows"]),
            )
            per_application = session.rows(CONNECTIONS_BY_APPLICATION_SQL, (params["max_rows"],))
        return self.result(params, limits, by_state, idle, per_application)

    @staticmethod
    def result(params, limits, by_state, idle, per_application) -> ProbeResult:
        reserved = limits["superuser_reserved"] + limits["reserved"]
        usable = limits["max_connections"] - reserved
        states = {row["state"]: row["connections"] for row in by_state}
        used = sum(states.values())
        free = usable - used
        percent = round(100 * used / usable, 1) if usable > 0 else 100.0
        in_transaction = sum(n for s, n in states.items() if s.startswith("idle in transaction"))
        idle_after, idle_total = params["idle_in_transaction_seconds"], total_of(idle)
        warning, critical = params["warning_percent"], params["critical_percent"]
        checks = [
            Check(
                "connections_used_percent",
                "Connections in use",
                percent,
                level(percent, warning=warning, critical=critical),
                f"warning ≥ {warning:g} %, critical ≥ {critical:g} % of {usable} usable "
                f"(max_connections {limits['max_connections']} − {reserved} reserved)",
                "%",
            ),
            Check("connections_free", "Free connection slots", free, unit="connections"),
            Check(
                "idle_in_transaction_sessions",
                f"Sessions idle in a transaction ≥ {idle_after:g} s",
                idle_total,
                flag(idle_total),
                "warning ≥ 1",
                "sessions",
            ),
        ]
        tables = [
            table_of(
                "connections_by_state",
                "Connections by state",
                ["state", "connections"],
                ("state",),
                by_state,
            ),
            table_of(
                "idle_in_transaction",
                f"Idle in a transaction ≥ {idle_after:g} s",
                ["pid", "user", "database", "application", "state", "idle_s", "transaction_s",
                 "query"],
                ("pid",),
                idle,
            ),
            table_of(
                "connections_by_application",
                "Connections per database and application",
                ["database", "user", "application", "connections", "active", "idle",
                 "idle_in_transaction"],
                ("database", "user", "application"),
                per_application,
            ),
        ]  # fmt: skip
        pool = "pool exhausted" if free <= 0 else f"{free} free"
        summary = (
            f"{used} of {usable} connections in use ({percent:g} %, {pool}); "
            f"{states.get('active', 0)} active, {states.get('idle', 0)} idle, {in_transaction} "
            f"idle in transaction; {idle_total} idle in transaction ≥ {idle_after:g} s"
        )
        raw = {**limits, "usable": usable, "used": used, "free": free, "by_state": states}
        return ProbeResult.from_checks(summary, checks, tables=tables, raw=raw)


# --- postgres.long_queries --------------------------------------------------------------------

LONG_QUERIES_SQL = """
    SELECT pid,
        round(extract(epoch FROM clock_timestamp() - query_start)::numeric, 1)::float
            AS duration_s,
        state, concat_ws(':', wait_event_type, wait_event) AS wait_event, usename AS "user",
        datname AS database, application_name AS application,
        pg_blocking_pids(pid) AS blocked_by, left(query, %s) AS query, count(*) OVER () AS total
    FROM pg_stat_activity
    WHERE backend_type = 'client backend' AND state IN ('active', 'fastpath function call')
        AND pid <> pg_backend_pid()
        AND query_start <= clock_timestamp() - make_interval(secs => %s)
    ORDER BY query_start, pid LIMIT %s
"""
# MATERIALIZED: pg_blocking_pids() briefly locks the lock manager, so it runs once per session
# rather than once per reference.
BLOCKED_SESSIONS_SQL = """
    WITH activity AS MATERIALIZED (
        SELECT pid, query_start, query, pg_blocking_pids(pid) AS blocking
        FROM pg_stat_activity WHERE backend_type = 'client backend'
    ), pairs AS (
        SELECT pid, query_start, query, unnest(blocking) AS blocking_pid
        FROM activity
        WHERE cardinality(blocking) > 0
            AND query_start <= clock_timestamp() - make_interval(secs => %s)
    )
    SELECT p.pid,
        round(extract(epoch FROM clock_timestamp() - p.query_start)::numeric, 1)::float
            AS waiting_s,
        left(p.query, %s) AS query, p.blocking_pid, k.usename AS blocking_user,
        k.state AS blocking_state,
        round(extract(epoch FROM clock_timestamp() - k.xact_start)::numeric, 1)::float
            AS blocking_transaction_s,
        left(k.query, %s) AS blocking_query, count(*) OVER () AS total
    FROM pairs p LEFT JOIN pg_stat_activity k ON k.pid = p.blocking_pid
    ORDER BY p.query_start, p.pid, p.blocking_pid LIMIT %s
"""


class LongQueriesParams(ThresholdPair):
    pair = ("min_duration_s", "critical_duration_s")
    min_duration_s = serializers.FloatField(
        min_value=0,
        max_value=86_400,
        default=300,
        help_text="Report statements running at least this long (warning).",
    )
    critical_duration_s = serializers.FloatField(
        min_value=0, max_value=604_800, default=1800, help_text="Critical from this duration on."
    )
    blocked_min_s = serializers.FloatField(
        min_value=0,
        max_value=86_400,
        default=30,
        help_text="Report sessions waiting on another session's lock at least this long.",
    )
    max_rows = serializers.IntegerField(min_value=1, max_value=MAX_ROWS, default=50)


@registry.register
class LongQueriesProbe(Probe):
    name = "postgres.long_queries"
    kind = "postgres"
    title = "Long-running and blocked queries"
    description = (
        "Statements running longer than a threshold (pid, duration, state, wait event, query) "
        "and sessions blocked by another session's locks, with the blocking session."
    )
    params_class = LongQueriesParams

    def run(self, target, params: dict, timeout_s: float) -> ProbeResult:
        with read_only_session(target, timeout_s) as session:
            running = session.rows(
                LONG_QUERIES_SQL,
                (QUERY_CHARS, float(params["min_duration_s"]), params["max_rows"]),
            )
            blocked = session.rows(
                BLOCKED_SESSIONS_SQL,
                (float(params["blocked_min_s"]), QUERY_CHARS, QUERY_CHARS, params["max_rows"]),
            )
        return self.result(params, running, blocked)

    @staticmethod
    def result(params, running, blocked) -> ProbeResult:
        minimum, critical = params["min_duration_s"], params["critical_duration_s"]
        longest = running[0]["duration_s"] if running else None  # oldest query_start first
        blocked_pids = {row["pid"] for row in blocked}
        checks = [
            Check(
                "longest_query_seconds",
                "Longest running statement",
                longest,
                Status.OK if longest is None else level(longest, warning=0, critical=critical),
                f"warning ≥ {minimum:g} s, critical ≥ {critical:g} s",
                "s",
            ),
            Check(
                "blocked_sessions",
                f"Sessions waiting on a lock ≥ {params['blocked_min_s']:g} s",
                len(blocked_pids),
                flag(len(blocked_pids)),
                "warning ≥ 1",
                "sessions",
            ),
        ]
        tables = [
            table_of(
                "long_queries",
                f"Statements running ≥ {minimum:g} s",
                ["pid", "duration_s", "state", "wait_event", "user", "database", "application",
                 "blocked_by", "query"],
                ("pid",),
                running,
            ),
            table_of(
                "blocked_sessions",
                "Sessions blocked by another session",
                ["pid", "waiting_s", "query", "blocking_pid", "blocking_user", "blocking_state",
                 "blocking_transaction_s", "blocking_query"],
                ("pid", "blocking_pid"),
                blocked,
            ),
        ]  # fmt: skip
        if running:
            summary = (
                f"{total_of(running)} statement(s) running ≥ {minimum:g} s, longest "
                f"{human_duration(longest)} (pid {running[0]['pid']})"
            )
        else:
            summary = f"no statement running ≥ {minimum:g} s"
        if blocked:
            blockers = ", ".join(str(pid) for pid in sorted({r["blocking_pid"] for r in blocked}))
            summary += f"; {len(blocked_pids)} session(s) blocked by pid(s) {blockers}"
        raw = {"running": total_of(running), "blocked_pairs": total_of(blocked)}
        return ProbeResult.from_checks(summary, checks, tables=tables, raw=raw)


# --- postgres.top_statements ------------------------------------------------------------------


class TopStatementsParams(serializers.Serializer):
    limit = serializers.IntegerField(
        min_value=1, max_value=100, default=10, help_text="How many statements to list."
    )
    min_calls = serializers.IntegerField(
        min_value=1, default=1, help_text="Ignore statements called fewer times than this."
    )


@registry.register
class TopStatementsProbe(Probe):
    name = "postgres.top_statements"
    kind = "postgres"
    title = "Slowest statements (pg_stat_statements)"
    description = (
        "The target database's statements with the highest mean execution time, from "
        "pg_stat_statements: calls, mean and total time, rows, shared-buffer hit ratio. "
        "A mean at or above the target's slow_query_seconds is a warning."
    )
    params_class = TopStatementsParams

    def run(self, target, params: dict, timeout_s: float) -> ProbeResult:
        slow_ms = target.config["slow_query_seconds"] * 1000
        with read_only_session(target, timeout_s) as session:
            extension = session.rows(
                "SELECT n.nspname FROM pg_extension e"
                " JOIN pg_namespace n ON n.oid = e.extnamespace"
                " WHERE e.extname = 'pg_stat_statements'"
            )
            if not extension:
                return self.unavailable(
                    f"pg_stat_statements is not installed in database {session.database} (add "
                    "it to shared_preload_libraries and CREATE EXTENSION pg_stat_statements)"
                )
            try:
                rows = session.rows(
                    self.statements_sql(session, extension[0]["nspname"]),
                    (QUERY_CHARS, params["min_calls"], params["limit"]),
                )
            except errors.ObjectNotInPrerequisiteState:
                # The extension exists in the database, the library was not preloaded.
                return self.unavailable(
                    f"pg_stat_statements is installed in database {session.database} but not "
                    "loaded (add it to shared_preload_libraries and restart the server)"
                )
            return self.result(session.database, rows, slow_ms, params)

    @staticmethod
    def statements_sql(session: Session, schema: str) -> sql.Composed:
        # PostgreSQL 13 split planning from execution time and renamed the columns.
        if session.server_version >= 130000:
            mean, total = "mean_exec_time", "total_exec_time"
        else:
            mean, total = "mean_time", "total_time"
        return sql.SQL(
            "SELECT queryid::text AS queryid, calls, round({mean}::numeric, 3)::float AS mean_ms,"
            " round({total}::numeric, 3)::float AS total_ms, rows,"
            " CASE WHEN shared_blks_hit + shared_blks_read > 0 THEN round(100.0 * shared_blks_hit"
            " / (shared_blks_hit + shared_blks_read), 1)::float END AS hit_percent,"
            " left(query, %s) AS query, count(*) OVER () AS total"
            " FROM {view} WHERE dbid = (SELECT oid FROM pg_database"
            " WHERE datname = current_database()) AND calls >= %s"
            " ORDER BY {mean} DESC, queryid LIMIT %s"
        ).format(
            mean=sql.Identifier(mean),
            total=sql.Identifier(total),
            view=sql.Identifier(schema, "pg_stat_statements"),
        )

    @staticmethod
    def unavailable(reason: str) -> ProbeResult:
        check = Check("pg_stat_statements", "pg_stat_statements available", "no", Status.WARNING)
        return ProbeResult(Status.WARNING, reason, checks=[check], warnings=[reason])

    @staticmethod
    def result(database: str, rows: list[dict], slow_ms: float, params: dict) -> ProbeResult:
        slow = sum(row["mean_ms"] >= slow_ms for row in rows)
        checks = [
            Check(
                "slow_statements",
                "Listed statements with a slow mean execution time",
                slow,
                flag(slow),
                f"warning when mean ≥ {slow_ms / 1000:g} s (target slow_query_seconds)",
                "statements",
            )
        ]
        table = table_of(
            "top_statements",
            f"Top {params['limit']} statements by mean execution time",
            ["queryid", "calls", "mean_ms", "total_ms", "rows", "hit_percent", "query"],
            ("queryid",),
            rows,
        )
        if rows:
            summary = (
                f"{total_of(rows)} statement(s) recorded in {database}; slowest mean "
                f"{rows[0]['mean_ms']:.1f} ms over {rows[0]['calls']} call(s); {slow} with a "
                f"mean ≥ {slow_ms / 1000:g} s"
            )
        else:
            summary = f"no statements recorded by pg_stat_statements in {database} yet"
        return ProbeResult.from_checks(
            summary, checks, tables=[table], raw={"statements": total_of(rows)}
        )


# --- postgres.replication ---------------------------------------------------------------------

REPLICAS_SQL = """
    SELECT coalesce(host(client_addr), 'local') AS client, application_name AS application,
        state, sync_state,
        round(extract(epoch FROM write_lag)::numeric, 1)::float AS write_lag_s,
        round(extract(epoch FROM flush_lag)::numeric, 1)::float AS flush_lag_s,
        round(extract(epoch FROM replay_lag)::numeric, 1)::float AS replay_lag_s,
        pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint AS replay_lag_bytes,
        count(*) OVER () AS total
    FROM pg_stat_replication ORDER BY application_name, client, pid LIMIT %s
"""
SLOTS_SQL = """
    SELECT slot_name AS slot, slot_type AS type, coalesce(database, '') AS database, active,
        wal_status, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint AS retained_bytes,
        count(*) OVER () AS total
    FROM pg_replication_slots ORDER BY retained_bytes DESC NULLS LAST, slot_name LIMIT %s
"""
# receive = replay LSN: nothing left to replay, the standby is current however long ago the
# primary last committed (an idle primary must not make its standby look lagging).
STANDBY_SQL = """
    SELECT pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() AS caught_up,
        round(extract(epoch FROM now() - pg_last_xact_replay_timestamp())::numeric, 1)::float
            AS since_replay_s,
        pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint
            AS replay_lag_bytes,
        (SELECT status FROM pg_stat_wal_receiver) AS receiver
"""


class ReplicationParams(ThresholdPair):
    pair = ("lag_warning_s", "lag_critical_s")
    lag_warning_s = serializers.FloatField(
        min_value=0, default=30, help_text="Replay lag (seconds) from which a replica warns."
    )
    lag_critical_s = serializers.FloatField(
        min_value=0, default=300, help_text="Replay lag (seconds) that is critical."
    )
    lag_warning_bytes = serializers.IntegerField(
        min_value=1, default=64 * 1024**2, help_text="WAL bytes not yet replayed: warning."
    )
    slot_retained_warning_bytes = serializers.IntegerField(
        min_value=0,
        default=1024**3,
        help_text="An inactive replication slot retaining this much WAL is a warning.",
    )


@registry.register
class ReplicationProbe(Probe):
    name = "postgres.replication"
    kind = "postgres"
    title = "Replication lag"
    description = (
        "On a primary: connected replicas with state, sync state, write/flush/replay lag and "
        "replay lag in bytes, plus replication slots and the WAL they retain. On a standby: "
        "how far replay is behind the primary."
    )
    params_class = ReplicationParams

    def run(self, target, params: dict, timeout_s: float) -> ProbeResult:
        with read_only_session(target, timeout_s) as session:
            if session.one("SELECT pg_is_in_recovery() AS standby")["standby"]:
                return self.standby(session, params)
            replicas = session.rows(REPLICAS_SQL, (MAX_ROWS,))
            slots = session.rows(SLOTS_SQL, (MAX_ROWS,))
        return self.primary(params, replicas, slots)

    def primary(self, params, replicas, slots) -> ProbeResult:
        warning_s, critical_s = params["lag_warning_s"], params["lag_critical_s"]
        for row in replicas:
            row["status"] = Status.worst(
                [
                    level(row["replay_lag_s"], warning=warning_s, critical=critical_s),
                    level(row["replay_lag_bytes"], warning=params["lag_warning_bytes"]),
                    Status.OK if row["state"] == "streaming" else Status.WARNING,
                ]
            )
        worst_lag = max((row["replay_lag_s"] or 0 for row in replicas), default=None)
        worst_bytes = max((row["replay_lag_bytes"] or 0 for row in replicas), default=None)
        not_streaming = sum(row["state"] != "streaming" for row in replicas)
        checks = [Check("replicas_connected", "Replicas connected", len(replicas), unit="replicas")]
        if replicas:
            checks += [
                Check(
                    "max_replay_lag_seconds",
                    "Largest replay lag",
                    worst_lag,
                    level(worst_lag, warning=warning_s, critical=critical_s),
                    f"warning ≥ {warning_s:g} s, critical ≥ {critical_s:g} s",
                    "s",
                ),
                Check(
                    "max_replay_lag_bytes",
                    "Largest replay lag in WAL bytes",
                    worst_bytes,
                    level(worst_bytes, warning=params["lag_warning_bytes"]),
                    f"warning ≥ {human_bytes(params['lag_warning_bytes'])}",
                    "bytes",
                ),
                Check(
                    "replicas_not_streaming",
                    "Replicas not streaming",
                    not_streaming,
                    flag(not_streaming),
                    "warning ≥ 1",
                    "replicas",
                ),
            ]
        stuck = self.stuck_slots(slots, params["slot_retained_warning_bytes"])
        checks.append(
            Check(
                "inactive_slots_retaining_wal",
                "Inactive replication slots retaining WAL",
                stuck,
                flag(stuck),
                "warning when an inactive slot retains ≥ "
                f"{human_bytes(params['slot_retained_warning_bytes'])} or lost its WAL",
                "slots",
            )
        )
        if replicas:
            summary = (
                f"primary with {len(replicas)} replica(s); largest replay lag "
                f"{worst_lag:g} s, {human_bytes(worst_bytes)}"
            )
        else:
            summary = "primary: no replicas connected"
        if stuck:
            summary += f"; {stuck} inactive replication slot(s) retaining WAL"
        tables = [
            table_of(
                "replicas",
                "Connected replicas",
                ["client", "application", "state", "sync_state", "write_lag_s", "flush_lag_s",
                 "replay_lag_s", "replay_lag_bytes", "status"],
                ("client", "application"),
                replicas,
            ),
            table_of(
                "replication_slots",
                "Replication slots",
                ["slot", "type", "database", "active", "wal_status", "retained_bytes"],
                ("slot",),
                slots,
            ),
        ]  # fmt: skip
        raw = {"role": "primary", "replicas": len(replicas), "slots": total_of(slots)}
        return ProbeResult.from_checks(summary, checks, tables=tables, raw=raw)

    @staticmethod
    def stuck_slots(slots: list[dict], retained_limit: int) -> int:
        # An inactive slot keeps every WAL segment from its restart_lsn on: the classic way a
        # forgotten replica or logical consumer fills the primary's disk.
        return sum(
            not row["active"]
            and (
                row["wal_status"] == "lost"
                or (row["retained_bytes"] is not None and row["retained_bytes"] >= retained_limit)
            )
            for row in slots
        )

    @staticmethod
    def standby(session: Session, params: dict) -> ProbeResult:
        row = session.one(STANDBY_SQL)
        lag = 0.0 if row["caught_up"] else row["since_replay_s"]
        receiver = row["receiver"] or "not running"
        warning_s, critical_s = params["lag_warning_s"], params["lag_critical_s"]
        checks = [
            Check(
                "replay_lag_seconds",
                "Replay lag behind the primary",
                lag,
                level(lag, warning=warning_s, critical=critical_s),
                f"warning ≥ {warning_s:g} s, critical ≥ {critical_s:g} s "
                "(0 when everything received is replayed)",
                "s",
            ),
            Check(
                "wal_receiver",
                "WAL receiver",
                receiver,
                Status.OK if receiver == "streaming" else Status.WARNING,
                "warning unless streaming",
            ),
        ]
        summary = (
            f"standby: replay lag {lag} s, {human_bytes(row['replay_lag_bytes'] or 0)} received "
            f"but not replayed; WAL receiver {receiver}"
        )
        return ProbeResult.from_checks(summary, checks, raw={"role": "standby", **row})


# --- postgres.table_activity ------------------------------------------------------------------


class TableActivityParams(serializers.Serializer):
    limit = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ROWS,
        default=20,
        help_text="Tables listed, most rows read by sequential scans first.",
    )
    missing_index_min_rows = serializers.IntegerField(
        min_value=0,
        default=10_000,
        help_text="A missing-index candidate has at least this many live rows, …",
    )
    missing_index_min_seq_tup_read = serializers.IntegerField(
        min_value=0,
        default=1_000_000,
        help_text="… more sequential than index scans and this many rows read sequentially.",
    )


@registry.register
class TableActivityProbe(Probe):
    name = "postgres.table_activity"
    kind = "postgres"
    title = "Table activity and missing-index candidates"
    description = (
        "Per table: rows inserted, updated and deleted, sequential and index scans, live and "
        "dead rows. Large tables read mostly by sequential scans are missing-index candidates. "
        "Also reports whether slow statements are logged (log_min_duration_statement)."
    )
    params_class = TableActivityParams

    COLUMNS = [
        "table", "seq_scan", "seq_tup_read", "idx_scan", "n_tup_ins", "n_tup_upd", "n_tup_del",
        "n_live_tup", "n_dead_tup",
    ]  # fmt: skip
    SELECT = (
        "SELECT format('%%I.%%I', schemaname, relname) AS \"table\", seq_scan, seq_tup_read,"
        " coalesce(idx_scan, 0) AS idx_scan, n_tup_ins, n_tup_upd, n_tup_del, n_live_tup,"
        " n_dead_tup, count(*) OVER () AS total FROM pg_stat_user_tables"
    )

    def run(self, target, params: dict, timeout_s: float) -> ProbeResult:
        with read_only_session(target, timeout_s) as session:
            tables = session.rows(
                f"{self.SELECT} ORDER BY seq_tup_read DESC, schemaname, relname LIMIT %s",
                (params["limit"],),
            )
            candidates = session.rows(
                f"{self.SELECT} WHERE n_live_tup >= %s AND seq_scan > coalesce(idx_scan, 0)"
                " AND seq_tup_read >= %s ORDER BY seq_tup_read DESC, schemaname, relname LIMIT %s",
                (
                    params["missing_index_min_rows"],
                    params["missing_index_min_seq_tup_read"],
                    MAX_ROWS,
                ),
            )
            logging = session.one(
                "SELECT setting, unit FROM pg_settings WHERE name = 'log_min_duration_statement'"
            )
        return self.result(params, tables, candidates, logging)

    def result(self, params, tables, candidates, logging) -> ProbeResult:
        setting = logging["setting"]
        if setting == "-1":
            logged = "-1 = disabled (slow statements are not logged)"
        else:
            logged = f"{setting} {logging['unit'] or ''}".strip()
        count = total_of(candidates)
        checks = [
            Check(
                "missing_index_candidates",
                "Missing-index candidates",
                count,
                flag(count),
                f"warning when a table has ≥ {params['missing_index_min_rows']} live rows, more "
                f"sequential than index scans and ≥ {params['missing_index_min_seq_tup_read']} "
                "rows read sequentially",
                "tables",
            ),
            Check(
                "log_min_duration_statement",
                "Slow statement logging (log_min_duration_statement)",
                logged,
                threshold="information only",
            ),
        ]
        summary = f"{total_of(tables)} table(s); {count} missing-index candidate(s)"
        if candidates:
            names = ", ".join(row["table"] for row in candidates[:3])
            summary += f" ({names}{', …' if count > 3 else ''})"
        summary += f"; log_min_duration_statement {logged.split(' (')[0]}"
        return ProbeResult.from_checks(
            summary,
            checks,
            tables=[
                table_of(
                    "missing_index_candidates",
                    "Missing-index candidates",
                    self.COLUMNS,
                    ("table",),
                    candidates,
                ),
                table_of(
                    "table_activity",
                    "Tables by rows read sequentially",
                    self.COLUMNS,
                    ("table",),
                    tables,
                ),
            ],
            raw={"tables": total_of(tables), "log_min_duration_statement": setting},
        )
