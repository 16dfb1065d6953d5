"""`postgres.table_activity`: reads and writes per table, and tables that seem to lack an index.

A large table read mostly by sequential scans is a missing-index candidate; whether slow
statements are logged at all (`log_min_duration_statement`) is reported alongside.
"""

from __future__ import annotations

from rest_framework import serializers

from .. import registry
from ..base import Check, Probe, ProbeResult
from .session import MAX_ROWS, flag, read_only_session, table_of, total_of


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
