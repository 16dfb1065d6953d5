"""`postgres.replication`: replica lag and replication slots on a primary, replay lag on a standby.

The probe asks the server which role it has (`pg_is_in_recovery()`) and reads the matching
statistics; an inactive slot retaining WAL is reported because it can fill the primary's disk.
"""

from __future__ import annotations

from rest_framework import serializers

from .. import registry
from ..base import Check, Probe, ProbeResult, Status, level
from ..units import human_bytes
from .session import MAX_ROWS, Session, ThresholdPair, flag, read_only_session, table_of, total_of

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
