"""`postgres.long_queries`: statements running longer than a threshold, and blocked sessions.

A blocked session is listed once per session blocking it, with what the blocker is doing, so
the finding names the transaction to look at (or end).
"""

from __future__ import annotations

from rest_framework import serializers

from .. import registry
from ..base import Check, Probe, ProbeResult, Status, level
from ..units import human_duration
from .session import (
    MAX_ROWS,
    QUERY_CHARS,
    ThresholdPair,
    flag,
    read_only_session,
    table_of,
    total_of,
)

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
