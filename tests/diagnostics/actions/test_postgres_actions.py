"""PostgreSQL actions against the real server: real backends ended, a real setting changed.

Every test gets its own scratch database and a non-superuser LOGIN role (the server's
`postgres` user is a superuser, so a "normal" backend to end must belong to another role).
pg_stat_activity is server-wide and shared with other test runs: assertions look only at the
pids this test created. `log_min_duration_statement` is server-wide too: its tests restore
postgresql.auto.conf's entry as it was and reload, whatever happens.
"""

from __future__ import annotations

import time

import psycopg
import pytest
from psycopg import errors
from psycopg.conninfo import make_conninfo
from rest_framework import serializers

import diagnostics.actions.postgres  # noqa: F401  (registers the actions)
from catalog.models import Target
from catalog.target_configs import validate_target_config
from diagnostics import redaction
from diagnostics.actions import registry
from diagnostics.actions.base import ActionRefused, Suggestion
from diagnostics.probes import registry as probes
from tests.diagnostics.peers.pg_scratch import (
    admin_connection,
    background_statement,
    idle_in_transaction,
    primary_and_standby,
    private_cluster_unavailable,
    scratch_database,
    scratch_role,
    wait_until,
)

pytestmark = pytest.mark.postgres

TERMINATE = registry.get("postgres.terminate_backend")
LOG_MIN_DURATION = registry.get("postgres.set_log_min_duration")
DSN_ENV = "ACTION_TEST_PG_DSN"
SLEEP = "SELECT pg_sleep(60)"


@pytest.fixture
def victim_role():
    with scratch_role("pgact_victim") as role:
        yield role


@pytest.fixture
def scratch(monkeypatch, victim_role):
    # Depends on victim_role, so the database (and every session of the role) goes first.
    with scratch_database("pgact_scratch") as database:
        monkeypatch.setenv(DSN_ENV, database.dsn)
        yield database


def pg_target() -> Target:
    config = validate_target_config("postgres", {"dsn_env": DSN_ENV})
    return Target(kind="postgres", name="payments-db", config=config)


def preview(action, params: dict, timeout_s: float = 10):
    return action.preview(pg_target(), action.validate_params(params), timeout_s)


def execute(action, params: dict, stored: dict, timeout_s: float = 10):
    return action.execute(pg_target(), action.validate_params(params), stored, timeout_s)


def start_of(pid: int) -> dict:
    with admin_connection() as admin:
        backend_start, query_start = admin.execute(
            "SELECT backend_start, query_start FROM pg_stat_activity WHERE pid = %s", (pid,)
        ).fetchone()
    return {"pid": pid, "backend_start": backend_start.isoformat(),
            "query_start": query_start.isoformat()}  # fmt: skip


# --- postgres.terminate_backend ---------------------------------------------------------------


def test_terminate_ends_a_sleeping_backend_and_its_client_gets_the_termination_error(
    scratch, victim_role
):
    with background_statement(
        scratch, SLEEP, application="checkout-worker", user=victim_role
    ) as sleeper:
        pid = sleeper.pid
        shown = preview(TERMINATE, {"pid": pid})

        assert scratch.activity(pid)["state"] == "active"  # the preview changed nothing
        assert shown.details["sql"] == f"SELECT pg_terminate_backend({pid})"
        assert shown.basis == start_of(pid)
        backend = shown.details["backend"]
        assert backend["client"].startswith("127.0.0.1:")
        assert {k: v for k, v in backend.items() if k not in ("client", "backend_start",
                "xact_start", "query_start")} == {
            "pid": pid, "user": victim_role, "database": scratch.name,
            "application_name": "checkout-worker", "state": "active",
            "backend_type": "client backend", "query": SLEEP, "superuser": False,
        }  # fmt: skip
        assert shown.summary == (
            f"Terminate backend {pid} (user {victim_role}, database {scratch.name}, "
            "application checkout-worker; active)"
        )
        assert shown.changes[0].after == "terminated"
        assert shown.changes[0].before.endswith(SLEEP)

        result = execute(TERMINATE, {"pid": pid}, shown.as_dict())

        assert result.ok and result.summary == f"backend {pid} terminated"
        assert result.details == {"pid": pid, "sql": f"SELECT pg_terminate_backend({pid})",
                                  "sent": True, "returned": True, "ended": True}  # fmt: skip
        assert scratch.activity(pid) is None
        assert isinstance(sleeper.outcome(), errors.AdminShutdown)

        again = execute(TERMINATE, {"pid": pid}, shown.as_dict())

        assert again.ok and again.summary == f"backend {pid} already ended"
        assert again.details["sent"] is False


def test_cancel_stops_the_query_and_keeps_the_session(scratch, victim_role):
    with background_statement(scratch, SLEEP, user=victim_role) as sleeper:
        pid = sleeper.pid
        params = {"pid": pid, "mode": "cancel"}
        shown = preview(TERMINATE, params)
        assert shown.details["sql"] == f"SELECT pg_cancel_backend({pid})"
        assert shown.summary.startswith(f"Cancel the running query of backend {pid}")

        started = time.monotonic()
        result = execute(TERMINATE, params, shown.as_dict())

        assert (
            result.ok and result.summary == f"query of backend {pid} cancelled; the session stays"
        )
        assert result.details["returned"] is True and result.details["query_stopped"] is True
        assert sleeper.outcome() is None and sleeper.cancelled
        assert time.monotonic() - started < 30  # the 60 s sleep did not run to its end
        assert scratch.activity(pid)["state"] == "idle"

        # A retried execution finds nothing running (the query start is the same): no signal.
        again = execute(TERMINATE, params, shown.as_dict())
        assert again.ok and again.details["sent"] is False
        assert again.summary == f"backend {pid} is not running a query (idle): nothing to cancel"

        # The session is alive and usable: same backend, new statement.
        assert sleeper.connection.execute("SELECT pg_backend_pid()").fetchone()[0] == pid


@pytest.mark.parametrize("application", ["ops-portal", "ops-portal-probe"])
def test_the_portals_own_connections_are_refused_even_when_forced(
    scratch, victim_role, application
):
    with scratch.connect(application, user=victim_role) as portal:
        pid = portal.info.backend_pid
        for force in (False, True):
            with pytest.raises(ActionRefused) as refused:
                preview(TERMINATE, {"pid": pid, "force": force})
            assert str(refused.value) == (
                f"pid {pid} is one of the portal's own connections "
                f"(application_name {application!r})"
            )
        assert portal.execute("SELECT 1").fetchone() == (1,)


def test_a_pid_without_backend_is_refused(scratch):
    free = 2**31 - 1  # above Linux's largest pid_max (2^22)
    with pytest.raises(ActionRefused) as refused:
        preview(TERMINATE, {"pid": free})
    assert str(refused.value) == f"no backend with pid {free} (it may have finished)"


def test_a_superuser_backend_is_refused_unless_forced(scratch):
    with background_statement(scratch, SLEEP) as sleeper:  # as postgres, a superuser
        pid = sleeper.pid
        with pytest.raises(ActionRefused) as refused:
            preview(TERMINATE, {"pid": pid})
        assert str(refused.value) == (
            f"backend {pid} belongs to superuser role postgres; only an admin can force it"
        )

        forced = preview(TERMINATE, {"pid": pid, "force": True})
        assert forced.warnings[0] == f"Forced: backend {pid} belongs to superuser role postgres."
        result = execute(TERMINATE, {"pid": pid, "force": True}, forced.as_dict())

        assert result.ok and result.summary == f"backend {pid} terminated"
        assert isinstance(sleeper.outcome(), errors.AdminShutdown)


def test_a_background_process_is_refused_without_force(scratch):
    with admin_connection() as admin:
        pid = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'"
        ).fetchone()[0]
    with pytest.raises(ActionRefused) as refused:
        preview(TERMINATE, {"pid": pid})  # only previewed: never signal the shared checkpointer
    assert str(refused.value) == (
        f"backend {pid} is a checkpointer, not a client backend (replication and background "
        "processes); only an admin can force it"
    )


@pytest.fixture(scope="module")
def replication_pair():
    reason = private_cluster_unavailable()
    if reason:
        pytest.skip(f"a private primary/standby pair {reason}")
    with primary_and_standby("pgact_standby") as pair:
        yield pair


def test_a_walsender_is_refused_without_force(monkeypatch, replication_pair):
    primary, _standby = replication_pair
    monkeypatch.setenv(DSN_ENV, primary.dsn)
    pid = primary.execute("SELECT pid FROM pg_stat_replication")[0][0]
    with pytest.raises(ActionRefused) as refused:
        preview(TERMINATE, {"pid": pid, "mode": "cancel"})
    assert str(refused.value) == (
        f"backend {pid} is a walsender, not a client backend (replication and background "
        "processes); only an admin can force it"
    )


def test_execute_refuses_a_backend_whose_start_differs_from_the_preview(scratch, victim_role):
    """The pid-reuse guard: a preview pinned another backend_start than the live one."""
    with idle_in_transaction(scratch, "SELECT 1", user=victim_role) as holder:
        pid = holder.info.backend_pid
        stored = preview(TERMINATE, {"pid": pid}).as_dict()
        stored["basis"]["backend_start"] = "2001-02-03T04:05:06.000007+00:00"

        with pytest.raises(ActionRefused) as refused:
            execute(TERMINATE, {"pid": pid}, stored)

        assert str(refused.value).startswith(
            f"the backend changed since the preview: pid {pid} now has backend_start"
        )
        assert scratch.activity(pid)["state"] == "idle in transaction"


def test_execute_refuses_a_backend_that_ran_another_statement_since_the_preview(
    scratch, victim_role
):
    with idle_in_transaction(scratch, "SELECT 1", user=victim_role) as holder:
        pid = holder.info.backend_pid
        stored = preview(TERMINATE, {"pid": pid}).as_dict()
        holder.execute("SELECT 2")  # a new query_start

        with pytest.raises(ActionRefused, match="the backend changed since the preview"):
            execute(TERMINATE, {"pid": pid}, stored)

        assert scratch.activity(pid)["query"] == "SELECT 2"
        fresh = preview(TERMINATE, {"pid": pid})
        assert execute(TERMINATE, {"pid": pid}, fresh.as_dict()).summary == (
            f"backend {pid} terminated"
        )
        assert fresh.warnings[0].startswith("Its open transaction (since ")
    with pytest.raises(psycopg.OperationalError):
        holder.execute("SELECT 3")


def test_a_role_that_cannot_see_the_backend_is_refused(monkeypatch, scratch, victim_role):
    monkeypatch.setenv(DSN_ENV, make_conninfo(scratch.dsn, user=victim_role))
    with (
        background_statement(scratch, SLEEP) as sleeper,  # a postgres backend
        pytest.raises(ActionRefused) as refused,
    ):
        preview(TERMINATE, {"pid": sleeper.pid, "force": True})
    assert str(refused.value) == (
        f"role {victim_role} cannot see the details of backend {sleeper.pid} (grant it "
        "pg_read_all_stats): without its start time a reused pid cannot be told apart"
    )


@pytest.mark.parametrize(
    "params, field",
    [({}, "pid"), ({"pid": 0}, "pid"), ({"pid": 1, "mode": "kill"}, "mode")],
)
def test_terminate_params_are_validated(params, field):
    with pytest.raises(serializers.ValidationError) as invalid:
        TERMINATE.validate_params(params)
    assert field in invalid.value.detail


def test_terminate_defaults_to_terminate_without_force():
    assert TERMINATE.validate_params({"pid": 7}) == {"pid": 7, "mode": "terminate", "force": False}


def stored_result(probe_name: str, params: dict) -> dict:
    """A probe result as the runner stores it: run against the peer, then redacted."""
    probe = probes.get(probe_name)
    result = probe.run(pg_target(), probe.validate_params(params), 10)
    return redaction.clean(result.as_dict())


def test_suggest_offers_cancel_and_terminate_for_a_long_running_query(scratch, victim_role):
    with background_statement(scratch, SLEEP, user=victim_role) as sleeper:
        result = stored_result("postgres.long_queries", {"min_duration_s": 0, "max_rows": 200})
        suggestions = TERMINATE.suggest("postgres.long_queries", result)

        pid = sleeper.pid
        assert [s for s in suggestions if s.params["pid"] == pid] == [
            Suggestion(TERMINATE.name, f"Cancel query of pid {pid}",
                       {"pid": pid, "mode": "cancel", "force": False}),
            Suggestion(TERMINATE.name, f"Terminate pid {pid}",
                       {"pid": pid, "mode": "terminate", "force": False}),
        ]  # fmt: skip
        # The filled params are valid and preview cleanly.
        chosen = next(s for s in suggestions if s.params == {"pid": pid, "mode": "cancel",
                                                              "force": False})  # fmt: skip
        assert (
            preview(TERMINATE, chosen.params).details["sql"] == f"SELECT pg_cancel_backend({pid})"
        )


def test_suggest_offers_terminate_for_idle_transactions_but_not_the_portals(scratch, victim_role):
    with (
        idle_in_transaction(scratch, user=victim_role) as holder,
        idle_in_transaction(scratch, application="ops-portal") as portal,
    ):
        result = stored_result("postgres.connections", {"idle_in_transaction_seconds": 0,
                                                        "max_rows": 200})  # fmt: skip
        suggestions = TERMINATE.suggest("postgres.connections", result)

        pids = {s.params["pid"] for s in suggestions}
        assert holder.info.backend_pid in pids and portal.info.backend_pid not in pids
        mine = next(s for s in suggestions if s.params["pid"] == holder.info.backend_pid)
        assert mine == Suggestion(
            TERMINATE.name,
            f"Terminate pid {holder.info.backend_pid} (idle in transaction)",
            {"pid": holder.info.backend_pid, "mode": "terminate", "force": False},
        )


def test_suggest_ignores_other_probes():
    assert TERMINATE.suggest("postgres.replication", {"tables": []}) == []
    assert LOG_MIN_DURATION.suggest("postgres.long_queries", {"tables": []}) == []


# --- postgres.set_log_min_duration ------------------------------------------------------------

SETTING = "log_min_duration_statement"


def shown_setting() -> str:
    """The value a new session sees (it starts from the postmaster's reloaded configuration)."""
    with admin_connection() as admin:
        return admin.execute(f"SHOW {SETTING}").fetchone()[0]


@pytest.fixture
def restore_log_min_duration():
    """Put postgresql.auto.conf's entry back as it was (set or absent) and reload."""
    with admin_connection() as admin:
        row = admin.execute(
            "SELECT setting FROM pg_file_settings WHERE name = %s"
            " AND sourcefile LIKE '%%postgresql.auto.conf' ORDER BY seqno DESC LIMIT 1",
            (SETTING,),
        ).fetchone()
    original = shown_setting()
    try:
        yield original
    finally:
        with admin_connection() as admin:
            if row is None:
                admin.execute(f"ALTER SYSTEM RESET {SETTING}")
            else:
                admin.execute(f"ALTER SYSTEM SET {SETTING} = '{row[0]}'")
            admin.execute("SELECT pg_reload_conf()")
        wait_until(lambda: shown_setting() == original, f"{SETTING} back to {original}")


def test_set_log_min_duration_changes_the_server_setting_and_reads_it_back(
    scratch, restore_log_min_duration
):
    original = restore_log_min_duration
    wanted = 260 if original == "250ms" else 250
    with admin_connection() as admin:
        before_ms, source = admin.execute(
            "SELECT setting::int, source FROM pg_settings WHERE name = %s", (SETTING,)
        ).fetchone()
    before = "-1 (disabled)" if before_ms == -1 else f"{before_ms} ms"

    shown = preview(LOG_MIN_DURATION, {"milliseconds": wanted})

    assert shown_setting() == original  # the preview changed nothing
    assert shown.details == {
        "sql": [f"ALTER SYSTEM SET {SETTING} = '{wanted}ms'", "SELECT pg_reload_conf()"],
        "current": {"value": original, "source": source},
    }
    assert shown.summary == (
        f"Set {SETTING} from {before} to {wanted} ms (ALTER SYSTEM, then reload the configuration)"
    )
    assert (shown.changes[0].before, shown.changes[0].after) == (before, f"{wanted} ms")

    result = execute(LOG_MIN_DURATION, {"milliseconds": wanted}, shown.as_dict())

    assert result.ok and result.summary == f"{SETTING}: {before} → {wanted} ms"
    assert result.details["sent"] is True and result.details["source"] == "configuration file"
    assert shown_setting() == f"{wanted}ms"
    with admin_connection() as admin:
        assert admin.execute(
            "SELECT setting FROM pg_file_settings WHERE name = %s"
            " AND sourcefile LIKE '%%postgresql.auto.conf'",
            (SETTING,),
        ).fetchall() == [(f"{wanted}ms",)]

    again = execute(LOG_MIN_DURATION, {"milliseconds": wanted}, shown.as_dict())

    assert again.ok and again.summary == f"already {wanted} ms"
    assert again.details["sent"] is False

    disabled = preview(LOG_MIN_DURATION, {"milliseconds": -1})
    assert disabled.details["sql"][0] == f"ALTER SYSTEM SET {SETTING} = '-1'"
    off = execute(LOG_MIN_DURATION, {"milliseconds": -1}, disabled.as_dict())
    assert off.ok and off.summary == f"{SETTING}: {wanted} ms → -1 (disabled)"
    assert shown_setting() == "-1"


def test_set_log_min_duration_is_refused_to_a_role_that_is_not_superuser(
    monkeypatch, scratch, victim_role
):
    monkeypatch.setenv(DSN_ENV, make_conninfo(scratch.dsn, user=victim_role))
    with pytest.raises(ActionRefused) as refused:
        preview(LOG_MIN_DURATION, {"milliseconds": 250})
    assert str(refused.value) == (
        f"ALTER SYSTEM needs a superuser (or GRANT ALTER SYSTEM ON PARAMETER {SETTING}); "
        f"role {victim_role} has neither"
    )


def test_set_log_min_duration_rejects_values_below_minus_one():
    with pytest.raises(serializers.ValidationError) as invalid:
        LOG_MIN_DURATION.validate_params({"milliseconds": -2})
    assert "milliseconds" in invalid.value.detail


def test_suggest_logging_slow_statements_only_when_logging_is_disabled(scratch):
    scratch.set(SETTING, "-1")  # what the probe's new sessions in this database see
    disabled = stored_result("postgres.table_activity", {})
    assert LOG_MIN_DURATION.suggest("postgres.table_activity", disabled) == [
        Suggestion(LOG_MIN_DURATION.name, "Log statements slower than 1 s", {"milliseconds": 1000})
    ]

    scratch.set(SETTING, "500")
    enabled = stored_result("postgres.table_activity", {})
    assert LOG_MIN_DURATION.suggest("postgres.table_activity", enabled) == []
