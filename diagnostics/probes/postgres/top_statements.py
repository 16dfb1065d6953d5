"""`postgres.top_statements`: the slowest statements by mean time, from pg_stat_statements.

The extension is optional: when it is missing or its library is not preloaded, the probe
reports how to enable it (a warning) instead of failing.
"""

from __future__ import annotations

from psycopg import errors, sql
from rest_framework import serializers

from .. import registry
from ..base import Check, Probe, ProbeResult, Status
from .session import QUERY_CHARS, Session, flag, read_only_session, table_of, total_of


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
