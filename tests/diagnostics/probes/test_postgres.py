"""PostgreSQL probes against the real server, each test in its own scratch database.

pg_stat_activity and pg_replication_slots are server-wide and other test runs share the
server, so assertions about sessions look for the pids this test created (and count exactly
only inside the scratch database); statistics of the scratch database's own tables and
statements are exact.
"""

from __future__ import annotations

import secrets
import socket

import pytest
from psycopg import errors
from rest_framework import serializers

from catalog.models import Target
from catalog.target_configs import validate_target_config
from diagnostics.probes import registry
from diagnostics.probes.base import ProbeConfigError, ProbeUnreachable, Status
from diagnostics.probes.postgres import read_only_session
from tests.diagnostics.peers.pg_scratch import (
    admin_connection,
    background_statement,
    idle_in_transaction,
    primary_and_standby,
    private_cluster_unavailable,
    scratch_database,
    wait_for_replay,
    wait_until,
)

pytestmark = pytest.mark.postgres

CONNECTIONS = registry.get("postgres.connections")
LONG_QUERIES = registry.get("postgres.long_queries")
TOP_STATEMENTS = registry.get("postgres.top_statements")
REPLICATION = registry.get("postgres.replication")
TABLE_ACTIVITY = registry.get("postgres.table_activity")
DSN_ENV = "PROBE_TEST_PG_DSN"


@pytest.fixture
def scratch(monkeypatch):
    with scratch_database() as database:
        monkeypatch.setenv(DSN_ENV, database.dsn)
        yield database


def pg_target(**config) -> Target:
    config = validate_target_config("postgres", {"dsn_env": DSN_ENV, **config})
    return Target(kind="postgres", name="payments-db", config=config)


def run(probe, params: dict | None = None, target: Target | None = None, timeout_s: float = 10):
    return probe.run(target or pg_target(), probe.validate_params(params or {}), timeout_s)


def table(result, name: str):
    return next(t for t in result.tables if t.name == name)


def records(result, name: str) -> list[dict]:
    found = table(result, name)
    return [dict(zip(found.columns, row, strict=True)) for row in found.rows]


def check(result, name: str):
    return next(c for c in result.checks if c.name == name)


def server_setting(name: str) -> int:
    with admin_connection() as admin:
        return int(admin.execute("SELECT current_setting(%s)", (name,)).fetchone()[0])


# --- postgres.connections ---------------------------------------------------------------------


def test_connections_reports_the_session_idle_in_a_transaction_with_its_pid(scratch):
    with idle_in_transaction(scratch, "SELECT 42") as holder:
        pid = holder.info.backend_pid
        result = run(CONNECTIONS, {"idle_in_transaction_seconds": 0, "max_rows": 200})

    idle = [row for row in records(result, "idle_in_transaction") if row["pid"] == pid]
    assert len(idle) == 1
    assert idle[0] | {"idle_s": None, "transaction_s": None} == {
        "pid": pid,
        "user": "postgres",
        "database": scratch.name,
        "application": "probe-test-holder",
        "state": "idle in transaction",
        "idle_s": None,
        "transaction_s": None,
        "query": "SELECT 42",
    }
    assert idle[0]["idle_s"] >= 0 and idle[0]["transaction_s"] >= idle[0]["idle_s"]
    assert result.status in (Status.WARNING, Status.CRITICAL)
    assert check(result, "idle_in_transaction_sessions").status == Status.WARNING
    assert check(result, "idle_in_transaction_sessions").value >= 1
    # Inside the scratch database the count is exact: the holder and the probe itself.
    mine = [
        row
        for row in records(result, "connections_by_application")
        if row["database"] == scratch.name
    ]
    assert sorted(mine, key=lambda row: row["application"]) == [
        {"database": scratch.name, "user": "postgres", "application": "ops-portal-probe",
         "connections": 1, "active": 1, "idle": 0, "idle_in_transaction": 0},
        {"database": scratch.name, "user": "postgres", "application": "probe-test-holder",
         "connections": 1, "active": 0, "idle": 0, "idle_in_transaction": 1},
    ]  # fmt: skip


def test_connections_measures_usage_against_max_connections_minus_reserved_slots(scratch):
    result = run(CONNECTIONS)

    max_connections = server_setting("max_connections")
    usable = max_connections - server_setting("superuser_reserved_connections")
    assert result.raw["max_connections"] == max_connections
    assert result.raw["usable"] == usable
    by_state = records(result, "connections_by_state")
    used = sum(row["connections"] for row in by_state)
    assert result.raw["used"] == used >= 1  # at least the probe's own session
    assert result.raw["free"] == usable - used
    usage = check(result, "connections_used_percent")
    assert usage.value == round(100 * used / usable, 1)
    assert usage.threshold.startswith(f"warning ≥ 80 %, critical ≥ 95 % of {usable} usable")
    assert usage.status == Status.OK  # the shared test server is far from full
    assert result.summary.startswith(f"{used} of {usable} connections in use")
    assert "idle in transaction ≥ 60 s" in result.summary


def test_connections_goes_critical_at_the_critical_percentage(scratch):
    result = run(CONNECTIONS, {"warning_percent": 1, "critical_percent": 1})

    assert check(result, "connections_used_percent").status == Status.CRITICAL
    assert result.status == Status.CRITICAL


def test_connection_thresholds_must_not_be_inverted():
    with pytest.raises(serializers.ValidationError) as caught:
        CONNECTIONS.validate_params({"warning_percent": 90, "critical_percent": 50})
    assert "critical_percent" in caught.value.detail


# --- postgres.long_queries --------------------------------------------------------------------


def test_long_queries_reports_a_sleeping_statement_with_its_pid(scratch):
    with background_statement(scratch, "SELECT pg_sleep(30)") as sleeper:
        warning = run(LONG_QUERIES, {"min_duration_s": 0, "critical_duration_s": 3600})
        critical = run(LONG_QUERIES, {"min_duration_s": 0, "critical_duration_s": 0})
        default = run(LONG_QUERIES)

    found = [row for row in records(warning, "long_queries") if row["pid"] == sleeper.pid]
    assert len(found) == 1
    assert found[0] | {"duration_s": None} == {
        "pid": sleeper.pid,
        "duration_s": None,
        "state": "active",
        "wait_event": "Timeout:PgSleep",
        "user": "postgres",
        "database": scratch.name,
        "application": "probe-test-sleeper",
        "blocked_by": [],
        "query": "SELECT pg_sleep(30)",
    }
    assert warning.status == Status.WARNING
    assert check(warning, "longest_query_seconds").threshold == "warning ≥ 0 s, critical ≥ 3600 s"
    assert "running ≥ 0 s" in warning.summary
    assert critical.status == Status.CRITICAL
    # The default threshold is 5 minutes: a statement a moment old is not reported.
    assert sleeper.pid not in [row["pid"] for row in records(default, "long_queries")]


def test_long_queries_names_the_session_holding_the_lock_a_query_waits_for(scratch):
    scratch.execute("CREATE TABLE ledger (id int)")
    with (
        idle_in_transaction(scratch, "LOCK TABLE ledger IN ACCESS EXCLUSIVE MODE") as holder,
        background_statement(
            scratch,
            "SELECT count(*) FROM ledger",
            application="probe-test-waiter",
            waiting_on="Lock",
        ) as waiter,
    ):
        blocker = holder.info.backend_pid
        result = run(LONG_QUERIES, {"min_duration_s": 0, "blocked_min_s": 0})

    waiting = next(row for row in records(result, "long_queries") if row["pid"] == waiter.pid)
    assert waiting["blocked_by"] == [blocker]
    assert waiting["wait_event"] == "Lock:relation"
    pairs = [row for row in records(result, "blocked_sessions") if row["pid"] == waiter.pid]
    assert [
        {
            key: row[key]
            for key in (
                "blocking_pid",
                "blocking_user",
                "blocking_state",
                "blocking_query",
                "query",
            )
        }
        for row in pairs
    ] == [
        {
            "blocking_pid": blocker,
            "blocking_user": "postgres",
            "blocking_state": "idle in transaction",
            "blocking_query": "LOCK TABLE ledger IN ACCESS EXCLUSIVE MODE",
            "query": "SELECT count(*) FROM ledger",
        }
    ]
    assert check(result, "blocked_sessions").status == Status.WARNING
    assert str(blocker) in result.summary.split("blocked by pid(s)")[1]


# --- postgres.top_statements ------------------------------------------------------------------


def test_top_statements_lists_a_statement_run_several_times_with_its_exact_counts(scratch):
    scratch.execute(
        "CREATE EXTENSION pg_stat_statements",
        "CREATE TABLE probe_marker AS SELECT n FROM generate_series(1, 10) AS n",
    )
    with scratch.connect() as connection:
        for bound in range(7):
            connection.execute("SELECT count(*) FROM probe_marker WHERE n > %s", (bound,))

    result = run(TOP_STATEMENTS, {"limit": 100})

    rows = records(result, "top_statements")
    marker = [
        row for row in rows if row["query"] == "SELECT count(*) FROM probe_marker WHERE n > $1"
    ]
    assert len(marker) == 1
    assert (marker[0]["calls"], marker[0]["rows"]) == (7, 7)
    assert marker[0]["total_ms"] >= marker[0]["mean_ms"] > 0
    assert marker[0]["hit_percent"] == 100.0  # the 1-page table stays in shared buffers
    means = [row["mean_ms"] for row in rows]
    assert means == sorted(means, reverse=True)
    assert result.status == Status.OK
    assert check(result, "slow_statements").threshold == (
        "warning when mean ≥ 30 s (target slow_query_seconds)"
    )
    assert result.summary.startswith(f"{len(rows)} statement(s) recorded in {scratch.name}")


def test_top_statements_warns_about_a_statement_slower_than_slow_query_seconds(scratch):
    scratch.execute("CREATE EXTENSION pg_stat_statements", "SELECT pg_sleep(1)")

    result = run(TOP_STATEMENTS, target=pg_target(slow_query_seconds=1))

    top = records(result, "top_statements")[0]
    assert top["query"] == "SELECT pg_sleep($1)" and top["calls"] == 1
    assert check(result, "slow_statements").value == 1
    assert result.status == Status.WARNING


def test_top_statements_without_the_extension_is_a_warning_that_says_how_to_install_it(scratch):
    result = run(TOP_STATEMENTS)

    text = (
        f"pg_stat_statements is not installed in database {scratch.name} (add it to "
        "shared_preload_libraries and CREATE EXTENSION pg_stat_statements)"
    )
    assert result.status == Status.WARNING
    assert result.warnings == [text]
    assert result.summary == text
    assert result.error == ""


# --- postgres.replication ---------------------------------------------------------------------


def test_replication_on_a_standalone_server_reports_no_replicas_as_ok(scratch):
    result = run(REPLICATION)

    assert result.status == Status.OK
    assert result.summary == "primary: no replicas connected"
    assert table(result, "replicas").rows == []
    assert check(result, "replicas_connected").value == 0


def test_replication_warns_about_an_inactive_slot_retaining_wal(scratch):
    slot = f"probe_test_{secrets.token_hex(4)}"
    with admin_connection() as admin:
        admin.execute("SELECT pg_create_physical_replication_slot(%s, true)", (slot,))
    try:
        flagged = run(REPLICATION, {"slot_retained_warning_bytes": 0})
        tolerated = run(REPLICATION)
    finally:
        with admin_connection() as admin:
            admin.execute("SELECT pg_drop_replication_slot(%s)", (slot,))

    row = next(row for row in records(flagged, "replication_slots") if row["slot"] == slot)
    assert (row["type"], row["database"], row["active"]) == ("physical", "", False)
    assert row["retained_bytes"] >= 0
    assert check(flagged, "inactive_slots_retaining_wal").status == Status.WARNING
    assert flagged.status == Status.WARNING
    assert "inactive replication slot(s) retaining WAL" in flagged.summary
    assert slot in [row["slot"] for row in records(tolerated, "replication_slots")]
    assert check(tolerated, "inactive_slots_retaining_wal").threshold.startswith(
        "warning when an inactive slot retains ≥ 1.0 GiB"
    )


@pytest.fixture(scope="module")
def replication_pair():
    reason = private_cluster_unavailable()
    if reason:
        pytest.skip(f"a private primary/standby pair {reason}")
    with primary_and_standby(STANDBY_NAME) as pair:
        yield pair


STANDBY_NAME = "probe_standby"


def test_replication_on_a_primary_lists_its_streaming_standby(monkeypatch, replication_pair):
    primary, standby = replication_pair
    primary.execute("CREATE TABLE replicated AS SELECT generate_series(1, 100) AS n")
    wait_for_replay(primary, standby)
    monkeypatch.setenv(DSN_ENV, primary.dsn)

    result = run(REPLICATION)

    [replica] = records(result, "replicas")
    assert {key: replica[key] for key in ("client", "application", "state", "sync_state")} == {
        "client": "127.0.0.1",
        "application": STANDBY_NAME,
        "state": "streaming",
        "sync_state": "async",
    }
    assert replica["replay_lag_bytes"] >= 0
    assert replica["status"] == Status.OK
    assert check(result, "replicas_connected").value == 1
    assert check(result, "max_replay_lag_seconds").threshold == "warning ≥ 30 s, critical ≥ 300 s"
    assert result.status == Status.OK
    assert result.summary.startswith("primary with 1 replica(s); largest replay lag ")


def test_replication_reports_wal_a_paused_standby_has_not_replayed(monkeypatch, replication_pair):
    primary, standby = replication_pair
    primary.execute("CREATE TABLE before_pause (n int)")
    wait_for_replay(primary, standby)  # so the standby has a last replayed commit
    standby.execute("SELECT pg_wal_replay_pause()")
    try:
        primary.execute("CREATE TABLE while_paused AS SELECT generate_series(1, 10000) AS n")
        wait_until(
            lambda: standby.execute("SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()")[
                0
            ][0],
            "the standby to receive WAL it does not replay",
        )
        monkeypatch.setenv(DSN_ENV, primary.dsn)
        on_primary = run(REPLICATION, {"lag_warning_bytes": 1})
        monkeypatch.setenv(DSN_ENV, standby.dsn)
        on_standby = run(REPLICATION, {"lag_warning_s": 0})
    finally:
        standby.execute("SELECT pg_wal_replay_resume()")
    wait_for_replay(primary, standby)
    caught_up = run(REPLICATION)  # still the standby's DSN

    [replica] = records(on_primary, "replicas")
    assert replica["replay_lag_bytes"] > 0
    assert replica["status"] == Status.WARNING
    assert check(on_primary, "max_replay_lag_bytes").status == Status.WARNING
    assert on_primary.status == Status.WARNING

    assert on_standby.raw["role"] == "standby"
    assert on_standby.raw["caught_up"] is False
    assert on_standby.raw["replay_lag_bytes"] > 0
    assert check(on_standby, "wal_receiver").value == "streaming"
    lag = check(on_standby, "replay_lag_seconds")
    assert lag.value == on_standby.raw["since_replay_s"] >= 0
    assert lag.status == Status.WARNING
    assert on_standby.summary.startswith("standby: replay lag ")

    assert caught_up.raw["caught_up"] is True
    assert check(caught_up, "replay_lag_seconds").value == 0.0
    assert caught_up.status == Status.OK
    assert caught_up.summary.endswith("received but not replayed; WAL receiver streaming")


# --- postgres.table_activity ------------------------------------------------------------------


def test_table_activity_flags_a_large_table_read_by_sequential_scans(scratch):
    scratch.set("log_min_duration_statement", "250")
    scratch.execute(
        "CREATE TABLE orders (id int, customer int)",
        "INSERT INTO orders SELECT n, n % 100 FROM generate_series(1, 2000) AS n",
        "CREATE TABLE customers (id int PRIMARY KEY)",
        "INSERT INTO customers SELECT generate_series(1, 50)",
        *["SELECT count(*) FROM orders WHERE customer = 7"] * 5,
        "SET enable_seqscan = off",
        *["SELECT * FROM customers WHERE id = 7"] * 3,
    )

    result = run(
        TABLE_ACTIVITY, {"missing_index_min_rows": 1000, "missing_index_min_seq_tup_read": 5000}
    )

    orders = {
        "table": "public.orders", "seq_scan": 5, "seq_tup_read": 10_000, "idx_scan": 0,
        "n_tup_ins": 2000, "n_tup_upd": 0, "n_tup_del": 0, "n_live_tup": 2000, "n_dead_tup": 0,
    }  # fmt: skip
    assert records(result, "missing_index_candidates") == [orders]
    activity = records(result, "table_activity")
    assert [row["table"] for row in activity] == ["public.orders", "public.customers"]
    assert activity[0] == orders
    assert activity[1] | {"seq_scan": None} == {
        "table": "public.customers", "seq_scan": None, "seq_tup_read": 0, "idx_scan": 3,
        "n_tup_ins": 50, "n_tup_upd": 0, "n_tup_del": 0, "n_live_tup": 50, "n_dead_tup": 0,
    }  # fmt: skip
    assert result.status == Status.WARNING
    assert check(result, "missing_index_candidates").value == 1
    assert check(result, "log_min_duration_statement").value == "250 ms"
    assert result.summary == (
        "2 table(s); 1 missing-index candidate(s) (public.orders); "
        "log_min_duration_statement 250 ms"
    )


def test_table_activity_with_default_thresholds_and_slow_logging_disabled(scratch):
    scratch.set("log_min_duration_statement", "-1")
    scratch.execute(
        "CREATE TABLE small (id int)",
        "INSERT INTO small SELECT generate_series(1, 10)",
        "SELECT * FROM small",
    )

    result = run(TABLE_ACTIVITY)

    assert records(result, "missing_index_candidates") == []
    assert [row["seq_tup_read"] for row in records(result, "table_activity")] == [10]
    logging = check(result, "log_min_duration_statement")
    assert logging.value == "-1 = disabled (slow statements are not logged)"
    assert logging.status == Status.OK
    assert result.status == Status.OK
    assert result.summary.endswith("log_min_duration_statement -1 = disabled")


# --- connecting -------------------------------------------------------------------------------


@pytest.fixture
def closed_port():
    """A port bound but not listening: connections to it are refused, and nothing can take it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_a_refused_connection_is_unreachable_without_the_password(monkeypatch, closed_port):
    monkeypatch.setenv(DSN_ENV, f"postgresql://probe:s3cr3t-pw@127.0.0.1:{closed_port}/payments")

    with pytest.raises(ProbeUnreachable) as caught:
        run(CONNECTIONS)

    assert str(caught.value) == f"connection refused: 127.0.0.1:{closed_port}"
    assert "s3cr3t" not in str(caught.value)


def test_a_missing_database_is_unreachable_with_its_name(monkeypatch):
    monkeypatch.setenv(DSN_ENV, "postgresql://postgres:pw@127.0.0.1:5432/no_such_probe_db")

    with pytest.raises(ProbeUnreachable) as caught:
        run(REPLICATION)

    assert str(caught.value) == "database no_such_probe_db does not exist on 127.0.0.1:5432"


def test_an_unparsable_dsn_is_a_config_error_that_does_not_quote_it(monkeypatch):
    monkeypatch.setenv(DSN_ENV, "host=db password=hunter2 =broken")

    with pytest.raises(ProbeConfigError) as caught:
        run(CONNECTIONS)

    assert "hunter2" not in str(caught.value)
    assert str(caught.value) == (
        f"the DSN in environment variable {DSN_ENV} is not a valid PostgreSQL connection string"
    )


def test_a_missing_environment_variable_is_a_config_error(monkeypatch):
    monkeypatch.delenv(DSN_ENV, raising=False)

    with pytest.raises(ProbeConfigError, match=f"environment variable {DSN_ENV} is not set"):
        run(CONNECTIONS)


def test_the_session_is_read_only_and_bounded_by_the_statement_timeout(scratch):
    target = pg_target(statement_timeout_ms=100)

    with read_only_session(target, timeout_s=10) as session:
        assert session.one("SHOW transaction_read_only")["transaction_read_only"] == "on"
        assert session.one("SHOW statement_timeout")["statement_timeout"] == "100ms"
        with pytest.raises(errors.ReadOnlySqlTransaction):
            session.cursor.execute("CREATE TABLE forbidden (id int)")

    with (
        read_only_session(target, timeout_s=10) as session,
        pytest.raises(ProbeUnreachable) as caught,
    ):
        session.rows("SELECT pg_sleep(5)")
    assert str(caught.value) == (
        f"query cancelled by statement_timeout (100 ms) on 127.0.0.1:5432/{scratch.name}"
    )


def test_the_probe_timeout_caps_the_statement_timeout(scratch):
    with read_only_session(pg_target(statement_timeout_ms=60_000), timeout_s=2) as session:
        assert session.one("SHOW statement_timeout")["statement_timeout"] == "2s"
        assert session.one("SHOW application_name")["application_name"] == "ops-portal-probe"


def test_the_probe_closes_its_session(scratch):
    run(CONNECTIONS)

    def probe_sessions() -> int:
        with admin_connection() as admin:
            return admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
                " AND application_name = 'ops-portal-probe'",
                (scratch.name,),
            ).fetchone()[0]

    # The backend exits just after the client hangs up; wait for that, not for a time.
    wait_until(lambda: probe_sessions() == 0, "the probe's backend to exit")
