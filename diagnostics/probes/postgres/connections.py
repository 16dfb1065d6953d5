"""`postgres.connections`: client connections against the usable slots, and idle transactions.

Only client backends count against max_connections minus the reserved slots; sessions idle in
a transaction hold locks and snapshots, so those idle longer than a threshold are listed.
"""

from __future__ import annotations

from rest_framework import serializers

from .. import registry
from ..base import Check, Probe, ProbeResult, level
from .session import (
    MAX_ROWS,
    QUERY_CHARS,
    ThresholdPair,
    flag,
    read_only_session,
    table_of,
    total_of,
)

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
