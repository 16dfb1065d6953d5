"""PostgreSQL remediation actions: end a backend (or cancel its query), log slow statements.

Previews read through the probes' `read_only_session`, so a preview cannot change anything.
Execution uses `write_session`: the same connection rules (DSN from the environment variable
the target names, bounded connect and statement timeouts, error texts built from host, port,
user and database only) without the read-only lock, in autocommit — `ALTER SYSTEM` cannot run
inside a transaction block, and a signal should not wait for a commit.

A pid names a backend only while it lives: the operating system reuses pids. The terminate
action therefore pins the backend by `backend_start` (and `query_start`) in its preview and
sends the signal from a statement that matches all three, so a newer backend that inherited
the pid is never signalled.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import psycopg
from psycopg import errors
from rest_framework import serializers

from ..probes.base import ProbeUnreachable
from ..probes.postgres.session import QUERY_CHARS, Session, open_session, read_only_session
from . import registry
from .base import Action, ActionRefused, ActionResult, Change, Preview, Suggestion

APPLICATION_NAME = "ops-portal-action"
# The portal's Django connections say "ops-portal", its probes "ops-portal-probe", this module
# "ops-portal-action": none of them may be ended from the portal itself.
PORTAL_APPLICATION_PREFIX = "ops-portal"
CLIENT_BACKEND = "client backend"
RUNNING_STATES = ("active", "fastpath function call")
SETTLE_S = 5.0  # longest wait for a signalled backend (or a reloaded setting) to show it
POLL_S = 0.05
MAX_SUGGESTED_PIDS = 10  # per probe result: the oldest statements come first


# --- connection -------------------------------------------------------------------------------


@contextmanager
def write_session(target, timeout_s: float) -> Iterator[Session]:
    """An autocommit session that may change things, with the probes' timeouts and errors."""
    with open_session(
        target, timeout_s, read_only=False, application_name=APPLICATION_NAME
    ) as session:
        yield session


def run_statement(session: Session, statement: str) -> None:
    """Run a statement that returns no rows (ALTER SYSTEM), translating refusals."""
    try:
        session.cursor.execute(statement)
    except errors.InsufficientPrivilege as exc:
        raise ActionRefused(f"{session.where} refused: {exc.diag.message_primary}") from exc
    except errors.QueryCanceled as exc:
        raise ProbeUnreachable(
            f"statement cancelled by statement_timeout ({session.statement_timeout_ms} ms) "
            f"on {session.where}"
        ) from exc
    except psycopg.OperationalError as exc:
        if session.cursor.connection.broken or session.cursor.connection.closed:
            raise ProbeUnreachable(f"lost the connection to {session.where}") from exc
        raise


def stamp(value: datetime | None) -> str | None:
    """A timestamp as stored in a preview (JSON): ISO 8601 with microseconds and offset."""
    return value.isoformat() if value is not None else None


def settle_deadline(timeout_s: float) -> float:
    return time.monotonic() + min(SETTLE_S, timeout_s / 2)


# --- postgres.terminate_backend ---------------------------------------------------------------

# pg_signal_backend's own rule: a superuser may signal anyone; others need the privileges of
# the backend's role or of pg_signal_backend, and never a superuser's backend or one that
# advertises no role (a background process may matter as much as a superuser's).
BACKEND_SQL = """
    SELECT a.pid, a.usename AS "user", a.datname AS database, a.application_name,
        CASE WHEN a.client_addr IS NOT NULL THEN host(a.client_addr) || ':' || a.client_port
            WHEN a.client_port = -1 THEN 'local socket' END AS client,
        a.state, a.backend_type, a.backend_start, a.xact_start, a.query_start,
        left(a.query, %s) AS query, coalesce(r.rolsuper, false) AS superuser,
        a.pid = pg_backend_pid() AS own_session, me.rolname AS acting_role,
        CASE WHEN me.rolsuper THEN true
            WHEN a.usesysid IS NULL OR coalesce(r.rolsuper, false) THEN false
            ELSE pg_has_role(a.usesysid, 'USAGE') OR pg_has_role('pg_signal_backend', 'USAGE')
        END AS may_signal
    FROM pg_stat_activity a
    LEFT JOIN pg_roles r ON r.oid = a.usesysid
    CROSS JOIN (SELECT rolname, rolsuper FROM pg_roles WHERE rolname = current_user) me
    WHERE a.pid = %s
"""
# Sent only while the pid still belongs to the backend the preview showed.
SIGNAL_SQL = """
    SELECT {function}(pid) AS signalled FROM pg_stat_activity
    WHERE pid = %s AND backend_start = %s::timestamptz
        AND query_start IS NOT DISTINCT FROM %s::timestamptz
"""
FUNCTIONS = {"cancel": "pg_cancel_backend", "terminate": "pg_terminate_backend"}


class TerminateBackendParams(serializers.Serializer):
    pid = serializers.IntegerField(min_value=1, max_value=2**31 - 1, help_text="Backend pid.")
    mode = serializers.ChoiceField(
        choices=["cancel", "terminate"],
        default="terminate",
        help_text="cancel = pg_cancel_backend (stop the query, keep the session); "
        "terminate = pg_terminate_backend (end the session, rolling back its transaction).",
    )
    force = serializers.BooleanField(
        default=False,
        help_text="Also end superuser, replication and other non-client backends (admins only).",
    )


@registry.register
class TerminateBackend(Action):
    name = "postgres.terminate_backend"
    kind = "postgres"
    title = "Terminate a backend or cancel its query"
    description = (
        "pg_terminate_backend(pid) ends a session and rolls back its transaction; "
        "pg_cancel_backend(pid) stops its running statement and keeps the session. Refuses the "
        "portal's own connections, and superuser, replication and other non-client backends "
        "unless forced."
    )
    params_class = TerminateBackendParams
    suggested_by = ("postgres.long_queries", "postgres.connections")

    def preview(self, target, params: dict, timeout_s: float) -> Preview:
        pid, mode = params["pid"], params["mode"]
        with read_only_session(target, timeout_s) as session:
            row = backend(session, pid)
        refuse_unless_allowed(row, pid, params["force"])
        sql_text = f"SELECT {FUNCTIONS[mode]}({pid})"
        shown = backend_details(row)
        who = (
            f"user {row['user']}, database {row['database']}, "
            f"application {row['application_name'] or '(none)'}"
        )
        if mode == "terminate":
            summary = f"Terminate backend {pid} ({who}; {row['state'] or row['backend_type']})"
            change = Change(f"backend {pid}", before=state_text(row), after="terminated")
        else:
            summary = f"Cancel the running query of backend {pid} ({who}); the session stays"
            change = Change(f"query of backend {pid}", before=state_text(row), after="cancelled")
        return Preview(
            summary=summary,
            changes=[change],
            details={
                "sql": sql_text,
                "guard": (
                    f"sent only while pid {pid} still has backend_start {shown['backend_start']}"
                    f" and query_start {shown['query_start']}"
                ),
                "backend": shown,
            },
            warnings=preview_warnings(row, mode),
            basis={
                "pid": pid,
                "backend_start": shown["backend_start"],
                "query_start": shown["query_start"],
            },
        )

    def execute(self, target, params, preview, timeout_s, progress=None) -> ActionResult:
        pid, mode = params["pid"], params["mode"]
        basis = preview["basis"]
        function = FUNCTIONS[mode]
        sql_text = f"SELECT {function}({pid})"
        with write_session(target, timeout_s) as session:
            row = backend(session, pid)
            if row is None:
                return ended(pid, sql_text)
            refuse_if_changed(row, basis)
            refuse_unless_allowed(row, pid, params["force"])  # application_name can change
            if mode == "cancel" and row["state"] not in RUNNING_STATES:
                return ActionResult(
                    ok=True,
                    summary=f"backend {pid} is not running a query ({row['state']}): "
                    "nothing to cancel",
                    details={"pid": pid, "sql": sql_text, "sent": False, "state": row["state"]},
                )
            found = session.rows(
                SIGNAL_SQL.format(function=function),
                (pid, basis["backend_start"], basis["query_start"]),
            )
            if not found:  # it ended or moved on between the two statements
                row = backend(session, pid)
                if row is None:
                    return ended(pid, sql_text)
                refuse_if_changed(row, basis)
                raise ActionRefused(f"backend {pid} could not be matched to the preview")
            signalled = bool(found[0]["signalled"])
            details = {"pid": pid, "sql": sql_text, "sent": True, "returned": signalled}
            if not signalled:
                return ActionResult(
                    ok=False,
                    summary=f"{function}({pid}) returned false: PostgreSQL did not signal it "
                    "(not a backend it can signal, or it ended meanwhile)",
                    details=details,
                )
            if mode == "terminate":
                gone = wait_for(lambda: backend(session, pid) is None, timeout_s)
                details["ended"] = gone
                summary = (
                    f"backend {pid} terminated"
                    if gone
                    else f"backend {pid} was signalled and is still exiting"
                )
            else:
                after = {"row": row}

                def stopped() -> bool:
                    after["row"] = backend(session, pid)
                    now = after["row"]
                    return now is None or now["state"] not in RUNNING_STATES

                details["query_stopped"] = wait_for(stopped, timeout_s)
                details["state_after"] = after["row"]["state"] if after["row"] else "ended"
                summary = (
                    f"query of backend {pid} cancelled; the session stays"
                    if details["query_stopped"]
                    else f"backend {pid} was sent a cancel request; its query is still running"
                )
        return ActionResult(ok=True, summary=summary, details=details)

    def suggest(self, probe_name: str, result: dict) -> list[Suggestion]:
        suggestions: list[Suggestion] = []
        if probe_name == "postgres.long_queries":
            for row in rows_of(result, "long_queries"):
                if portal_application(row.get("application")):
                    continue
                pid = row["pid"]
                suggestions.append(Suggestion(self.name, f"Cancel query of pid {pid}", cancel(pid)))
                suggestions.append(Suggestion(self.name, f"Terminate pid {pid}", end(pid)))
            blockers = dict.fromkeys(
                row["blocking_pid"] for row in rows_of(result, "blocked_sessions")
            )
            for pid in blockers:
                if pid is not None:
                    label = f"Terminate pid {pid} (blocking other sessions)"
                    suggestions.append(Suggestion(self.name, label, end(pid)))
        elif probe_name == "postgres.connections":
            for row in rows_of(result, "idle_in_transaction"):
                if not portal_application(row.get("application")):
                    pid = row["pid"]
                    label = f"Terminate pid {pid} (idle in transaction)"
                    suggestions.append(Suggestion(self.name, label, end(pid)))
        return unique_by_params(suggestions, MAX_SUGGESTED_PIDS * 2)


def backend(session: Session, pid: int) -> dict | None:
    rows = session.rows(BACKEND_SQL, (QUERY_CHARS, pid))
    return rows[0] if rows else None


def portal_application(name: str | None) -> bool:
    return (name or "").startswith(PORTAL_APPLICATION_PREFIX)


def refuse_unless_allowed(row: dict | None, pid: int, force: bool) -> None:
    if row is None:
        raise ActionRefused(f"no backend with pid {pid} (it may have finished)")
    if row["own_session"]:
        raise ActionRefused(f"pid {pid} is this action's own session")
    if portal_application(row["application_name"]):
        raise ActionRefused(
            f"pid {pid} is one of the portal's own connections "
            f"(application_name {row['application_name']!r})"
        )
    if row["backend_start"] is None:
        raise ActionRefused(
            f"role {row['acting_role']} cannot see the details of backend {pid} (grant it "
            "pg_read_all_stats): without its start time a reused pid cannot be told apart"
        )
    if not force and row["backend_type"] != CLIENT_BACKEND:
        raise ActionRefused(
            f"backend {pid} is a {row['backend_type']}, not a client backend (replication and "
            "background processes); only an admin can force it"
        )
    if not force and row["superuser"]:
        raise ActionRefused(
            f"backend {pid} belongs to superuser role {row['user']}; only an admin can force it"
        )
    if not row["may_signal"]:
        raise ActionRefused(
            f"role {row['acting_role']} may not signal backend {pid} of role "
            f"{row['user'] or '(none)'}: that needs a superuser, or the privileges of that role "
            "or of pg_signal_backend (and never for a superuser's backend)"
        )


def refuse_if_changed(row: dict, basis: dict) -> None:
    # Compared as instants: two sessions may render the same time in different time zones.
    pinned = tuple(instant(basis[key]) for key in ("backend_start", "query_start"))
    if (row["backend_start"], row["query_start"]) != pinned:
        raise ActionRefused(
            f"the backend changed since the preview: pid {row['pid']} now has backend_start "
            f"{stamp(row['backend_start'])} and query_start {stamp(row['query_start'])} (the "
            f"preview saw {basis['backend_start']} and {basis['query_start']}); preview again"
        )


def instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def ended(pid: int, sql_text: str) -> ActionResult:
    return ActionResult(
        ok=True,
        summary=f"backend {pid} already ended",
        details={"pid": pid, "sql": sql_text, "sent": False, "already_ended": True},
    )


def wait_for(condition, timeout_s: float) -> bool:
    deadline = settle_deadline(timeout_s)
    while True:
        if condition():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_S)


def backend_details(row: dict) -> dict:
    shown = {
        key: row[key]
        for key in ("pid", "user", "database", "application_name", "client", "state",
                    "backend_type", "query", "superuser")
    }  # fmt: skip
    for key in ("backend_start", "xact_start", "query_start"):
        shown[key] = stamp(row[key])
    return shown


def state_text(row: dict) -> str:
    state = row["state"] or row["backend_type"]
    since = f" since {stamp(row['query_start'])}" if row["query_start"] else ""
    query = f": {row['query']}" if row["query"] else ""
    return f"{state}{since}{query}"


def preview_warnings(row: dict, mode: str) -> list[str]:
    warnings = []
    if row["superuser"]:
        warnings.append(f"Forced: backend {row['pid']} belongs to superuser role {row['user']}.")
    if row["backend_type"] != CLIENT_BACKEND:
        warnings.append(f"Forced: backend {row['pid']} is a {row['backend_type']}.")
    if mode == "terminate" and row["xact_start"] is not None:
        warnings.append(
            f"Its open transaction (since {stamp(row['xact_start'])}) is rolled back; the "
            "client sees its connection closed."
        )
    if mode == "cancel" and row["state"] not in RUNNING_STATES:
        warnings.append(
            f"Backend {row['pid']} is not running a query ({row['state']}): a cancel does "
            "nothing to it. Terminate ends an idle transaction."
        )
    return warnings


def rows_of(result: dict, table_name: str) -> list[dict]:
    for table in result.get("tables") or []:
        if table.get("name") == table_name:
            columns = table["columns"]
            return [dict(zip(columns, row, strict=False)) for row in table.get("rows") or []]
    return []


def cancel(pid: int) -> dict:
    return {"pid": pid, "mode": "cancel", "force": False}


def end(pid: int) -> dict:
    return {"pid": pid, "mode": "terminate", "force": False}


def unique_by_params(suggestions: list[Suggestion], limit: int) -> list[Suggestion]:
    seen, kept = set(), []
    for suggestion in suggestions:
        key = tuple(sorted(suggestion.params.items()))
        if key not in seen:
            seen.add(key)
            kept.append(suggestion)
    return kept[:limit]


# --- postgres.set_log_min_duration ------------------------------------------------------------

SETTING = "log_min_duration_statement"
# ALTER SYSTEM writes postgresql.auto.conf, which overrides postgresql.conf and the default;
# a value from the command line or set per database, role or session still wins over it.
ALTER_SYSTEM_WINS_OVER = ("default", "configuration file")
SUGGESTED_MS = 1000
SETTING_SQL = """
    SELECT current_setting(%s) AS shown, setting, source, current_user AS role,
        has_parameter_privilege(name, 'ALTER SYSTEM') AS may_alter,
        has_function_privilege('pg_reload_conf()', 'EXECUTE') AS may_reload,
        -- allow_alter_system exists from PostgreSQL 17 on (NULL before: allowed).
        coalesce(current_setting('allow_alter_system', true), 'on') AS allow_alter_system
    FROM pg_settings WHERE name = %s
"""
# Before PostgreSQL 15 only a superuser may run ALTER SYSTEM.
SETTING_SQL_BEFORE_15 = SETTING_SQL.replace(
    "has_parameter_privilege(name, 'ALTER SYSTEM')",
    "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user)",
)


class LogMinDurationParams(serializers.Serializer):
    milliseconds = serializers.IntegerField(
        min_value=-1,
        max_value=2**31 - 1,
        help_text="Log every statement running at least this long; 0 logs all, -1 disables.",
    )


@registry.register
class SetLogMinDuration(Action):
    name = "postgres.set_log_min_duration"
    kind = "postgres"
    title = "Log slow statements (log_min_duration_statement)"
    description = (
        "ALTER SYSTEM SET log_min_duration_statement and pg_reload_conf(): the server logs "
        "every statement running at least this long (-1 disables). Needs a superuser or the "
        "ALTER SYSTEM privilege on the parameter."
    )
    params_class = LogMinDurationParams
    suggested_by = ("postgres.table_activity",)

    def preview(self, target, params: dict, timeout_s: float) -> Preview:
        wanted = params["milliseconds"]
        with read_only_session(target, timeout_s) as session:
            current = setting_state(session)
        refuse_unless_may_alter(current)
        statements = alter_statements(wanted)
        before = int(current["setting"])
        if before == wanted and current["source"] in ALTER_SYSTEM_WINS_OVER:
            summary = f"{SETTING} is already {duration_text(wanted)}: nothing to change"
        else:
            summary = (
                f"Set {SETTING} from {duration_text(before)} to {duration_text(wanted)} "
                "(ALTER SYSTEM, then reload the configuration)"
            )
        warnings = []
        if current["source"] not in ALTER_SYSTEM_WINS_OVER:
            warnings.append(
                f"The current value comes from {current['source']}, which takes precedence "
                "over ALTER SYSTEM: where that applies the value stays."
            )
        return Preview(
            summary=summary,
            changes=[Change(SETTING, before=duration_text(before), after=duration_text(wanted))],
            details={
                "sql": statements,
                "current": {"value": current["shown"], "source": current["source"]},
            },
            warnings=warnings,
            # Setting an absolute value does not depend on the current one: nothing to pin.
            basis={},
        )

    def execute(self, target, params, preview, timeout_s, progress=None) -> ActionResult:
        wanted = params["milliseconds"]
        statements = alter_statements(wanted)
        with write_session(target, timeout_s) as session:
            current = setting_state(session)
            refuse_unless_may_alter(current)
            before = int(current["setting"])
            details = {"sql": statements, "before": duration_text(before)}
            if before == wanted and current["source"] in ALTER_SYSTEM_WINS_OVER:
                details.update(after=duration_text(wanted), sent=False)
                return ActionResult(
                    ok=True, summary=f"already {duration_text(wanted)}", details=details
                )
            for statement in statements:
                run_statement(session, statement)
            # The reload reaches this backend between statements: each poll is a new one.
            seen = {"state": current}

            def applied() -> bool:
                seen["state"] = setting_state(session)
                return int(seen["state"]["setting"]) == wanted

            reloaded = wait_for(applied, timeout_s)
        after = int(seen["state"]["setting"])
        details.update(after=duration_text(after), sent=True, source=seen["state"]["source"])
        if not reloaded:
            return ActionResult(
                ok=False,
                summary=(
                    f"ALTER SYSTEM set {duration_text(wanted)}, but after the reload the value "
                    f"is still {duration_text(after)} (source {seen['state']['source']})"
                ),
                details=details,
            )
        return ActionResult(
            ok=True,
            summary=f"{SETTING}: {duration_text(before)} → {duration_text(after)}",
            details=details,
        )

    def suggest(self, probe_name: str, result: dict) -> list[Suggestion]:
        if probe_name != "postgres.table_activity" or not logging_disabled(result):
            return []
        return [
            Suggestion(
                self.name,
                f"Log statements slower than {SUGGESTED_MS // 1000} s",
                {"milliseconds": SUGGESTED_MS},
            )
        ]


def setting_state(session: Session) -> dict:
    query = SETTING_SQL if session.server_version >= 150000 else SETTING_SQL_BEFORE_15
    return session.one(query, (SETTING, SETTING))


def refuse_unless_may_alter(state: dict) -> None:
    if state["allow_alter_system"] != "on":
        raise ActionRefused("ALTER SYSTEM is disabled on this server (allow_alter_system = off)")
    if not state["may_alter"]:
        raise ActionRefused(
            f"ALTER SYSTEM needs a superuser (or GRANT ALTER SYSTEM ON PARAMETER {SETTING}); "
            f"role {state['role']} has neither"
        )
    if not state["may_reload"]:
        raise ActionRefused(f"role {state['role']} may not call pg_reload_conf()")


def alter_statements(milliseconds: int) -> list[str]:
    value = "-1" if milliseconds == -1 else f"{milliseconds}ms"
    return [f"ALTER SYSTEM SET {SETTING} = '{value}'", "SELECT pg_reload_conf()"]


def duration_text(milliseconds: int) -> str:
    if milliseconds == -1:
        return "-1 (disabled)"
    if milliseconds == 0:
        return "0 ms (every statement)"
    return f"{milliseconds} ms"


def logging_disabled(result: dict) -> bool:
    raw = result.get("raw")
    if isinstance(raw, dict) and SETTING in raw:
        return str(raw[SETTING]) == "-1"
    for check in result.get("checks") or []:  # the raw output may have been truncated
        if check.get("name") == SETTING:
            return str(check.get("value", "")).startswith("-1")
    return False
