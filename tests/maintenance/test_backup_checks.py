"""Backup checks against the real PostgreSQL: restore, compare, record, always clean up.

Each test makes its own source database with rows, runs the check inline (the service the task
calls) and looks at the recorded row and at pg_database: the scratch database must be gone
whatever the outcome.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from maintenance.backup.services import backup_check_request, backup_check_run
from maintenance.errors import MaintenanceError
from maintenance.models import (
    BackupState,
    BackupVerification,
    MaintenanceWindow,
    WindowEvent,
    WindowEventKind,
)
from tests.diagnostics.peers.pg_scratch import idle_in_transaction, postgres_bin_dir
from tests.factories import TargetFactory

from .backup_support import (
    DSN_ENV,
    SOURCE_COUNTS,
    database_exists,
    postgres_target,
    source_database,
    take_dump,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def backups(settings, tmp_path):
    directory = tmp_path / "backups"
    directory.mkdir()
    settings.MAINTENANCE_BACKUP_DIR = directory
    settings.MAINTENANCE_BACKUP_TIMEOUT_S = 120
    return directory


@pytest.fixture
def source(monkeypatch, backups):
    with source_database(monkeypatch) as database:
        yield database


def run(target, dump_path: str = "", **kwargs) -> BackupVerification:
    check = backup_check_request(target=target, dump_path=dump_path, **kwargs)
    assert check.state == BackupState.QUEUED
    finished = backup_check_run(check.pk)
    assert finished is not None
    return finished


def counts_of(check: BackupVerification) -> dict:
    return {table: entry["restored"] for table, entry in check.row_counts.items()}


def test_fresh_dump_of_the_source_passes_with_equal_counts(source):
    check = run(postgres_target())

    assert check.state == BackupState.PASSED, check.error
    assert check.schema_diff == ""
    assert counts_of(check) == SOURCE_COUNTS
    assert all(entry["source"] == entry["restored"] for entry in check.row_counts.values())
    assert check.summary == "Schema and row counts match: 3 tables, 157 rows."
    assert check.duration_ms > 0
    assert check.started_at <= check.finished_at
    assert check.scratch_database.startswith(f"opsportal_verify_{check.pk}_")
    assert not database_exists(check.scratch_database)


def test_given_dump_of_an_unchanged_source_passes(source, backups):
    take_dump(source, backups / "nightly" / "orders.dump")

    check = run(postgres_target(), "nightly/orders.dump")

    assert check.state == BackupState.PASSED, check.error
    assert check.dump_path == str((backups / "nightly" / "orders.dump").resolve())
    assert counts_of(check) == SOURCE_COUNTS


def test_source_that_gained_a_column_after_the_dump_fails_with_the_column_in_the_diff(
    source, backups
):
    take_dump(source, backups / "orders.dump")
    source.execute("ALTER TABLE customers ADD COLUMN loyalty_tier text")

    check = run(postgres_target(), "orders.dump")

    assert check.state == BackupState.FAILED
    assert "-    loyalty_tier text" in check.schema_diff.splitlines()
    assert check.schema_diff.startswith("--- source\n+++ restored\n")
    assert check.summary.startswith("Schema differs (")
    assert all(entry["source"] == entry["restored"] for entry in check.row_counts.values())
    assert not database_exists(check.scratch_database)


def test_source_that_dropped_a_table_after_the_dump_fails_naming_the_table(source, backups):
    take_dump(source, backups / "orders.dump")
    source.execute("DROP TABLE billing.invoices")

    check = run(postgres_target(), "orders.dump")

    assert check.state == BackupState.FAILED
    assert "+CREATE TABLE billing.invoices (" in check.schema_diff.splitlines()
    assert check.row_counts["billing.invoices"] == {"source": None, "restored": 7}
    assert check.summary.endswith(
        "Row counts differ in 1 table (source → restored: billing.invoices missing → 7)"
    )


def test_row_count_mismatch_fails_and_names_the_table(source, backups):
    take_dump(source, backups / "orders.dump")
    source.execute("DELETE FROM orders WHERE id <= 20")

    check = run(postgres_target(), "orders.dump")

    assert check.state == BackupState.FAILED
    assert check.schema_diff == ""
    assert check.row_counts["public.orders"] == {"source": 100, "restored": 120}
    assert check.row_counts["public.customers"] == {"source": 30, "restored": 30}
    assert check.summary == (
        "Row counts differ in 1 table (source → restored: public.orders 100 → 120)"
    )


def test_counts_come_from_the_dump_snapshot_even_when_rows_change_during_the_check(source):
    # A transaction inserted rows but has not committed: the snapshot shows none of them, and
    # neither does the dump; committing them later must not make the check fail.
    with idle_in_transaction(source, "INSERT INTO orders (customer_id, total) VALUES (1, 5)"):
        check = run(postgres_target())

    assert check.state == BackupState.PASSED, check.error
    assert check.row_counts["public.orders"] == {"source": 120, "restored": 120}


def test_a_second_run_of_the_same_check_does_nothing(source):
    check = backup_check_request(target=postgres_target())
    first = backup_check_run(check.pk)

    again = backup_check_run(check.pk)

    assert again is None
    check.refresh_from_db()
    assert check.state == first.state == BackupState.PASSED
    assert check.attempts == 1
    assert check.finished_at == first.finished_at


def test_a_check_claimed_by_another_worker_is_left_alone(source):
    check = backup_check_request(target=postgres_target())
    BackupVerification.objects.filter(pk=check.pk).update(state=BackupState.RUNNING)

    assert backup_check_run(check.pk) is None
    check.refresh_from_db()
    assert check.state == BackupState.RUNNING
    assert check.scratch_database == ""


def test_missing_pg_restore_is_an_error_and_the_scratch_database_is_dropped(
    source, settings, tmp_path
):
    # A tools directory with pg_dump but no pg_restore: the dump and the scratch database are
    # made, the restore cannot run.
    tools = tmp_path / "bin"
    tools.mkdir()
    os.symlink(postgres_bin_dir() / "pg_dump", tools / "pg_dump")
    settings.MAINTENANCE_BACKUP_PG_BIN_DIR = str(tools)

    check = run(postgres_target())

    assert check.state == BackupState.ERROR
    assert check.error.startswith(f"pg_restore not found in {tools}")
    assert check.summary == check.error
    assert check.scratch_database
    assert not database_exists(check.scratch_database)
    assert check.finished_at is not None and check.duration_ms is not None


def test_unreachable_source_is_an_error_without_the_password(monkeypatch, backups):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    monkeypatch.setenv(DSN_ENV, f"postgresql://backup:s3cr3t-pw@127.0.0.1:{closed_port}/orders")

    check = run(postgres_target())

    assert check.state == BackupState.ERROR
    assert check.error == f"could not connect to 127.0.0.1:{closed_port}/orders: connection refused"
    assert "s3cr3t" not in check.error + check.summary
    assert not database_exists(check.scratch_database)


@pytest.mark.parametrize("dump", ["", "orders.dump"], ids=["session", "pg_dump"])
def test_password_quoted_back_by_the_server_is_redacted(monkeypatch, source, backups, dump):
    # A wrong database name that looks like a password setting: the server's message quotes it
    # back, through psycopg (fresh dump) or through pg_dump's stderr (given dump).
    take_dump(source, backups / "orders.dump")
    wrong = source.dsn.replace(f"dbname={source.name}", "dbname='password=hunter2'")
    monkeypatch.setenv(DSN_ENV, wrong)

    check = run(postgres_target(), dump)

    assert check.state == BackupState.ERROR
    assert "hunter2" not in check.error + check.summary
    assert "password=***" in check.error
    if dump:
        assert check.error.startswith("pg_dump failed (exit 1) on ")


def test_unset_dsn_variable_is_an_error_naming_it(monkeypatch, backups):
    monkeypatch.delenv(DSN_ENV, raising=False)

    check = run(postgres_target())

    assert check.state == BackupState.ERROR
    assert check.error == f"environment variable {DSN_ENV} is not set on the worker"


def test_a_tool_that_outlives_the_deadline_is_an_error_and_cleans_up(source, settings):
    # pg_dump waits for a lock the test holds; the check's deadline ends it.
    settings.MAINTENANCE_BACKUP_TIMEOUT_S = 2
    with idle_in_transaction(source, "LOCK TABLE orders IN ACCESS EXCLUSIVE MODE"):
        check = run(postgres_target())

    assert check.state == BackupState.ERROR
    assert "pg_dump timed out after" in check.error
    assert check.scratch_database and not database_exists(check.scratch_database)


def test_dump_that_disappeared_before_the_run_is_an_error(source, backups):
    dump = take_dump(source, backups / "orders.dump")
    check = backup_check_request(target=postgres_target(), dump_path="orders.dump")
    dump.unlink()

    finished = backup_check_run(check.pk)

    assert finished.state == BackupState.ERROR
    assert finished.error == "There is no dump at " + str(dump) + "."


def test_check_during_a_window_is_logged_on_the_window(source, commander):
    now = timezone.now()
    window = MaintenanceWindow.objects.create(
        title="Upgrade orders-db",
        scheduled_start=now,
        scheduled_end=now + timedelta(hours=2),
        created_by=commander,
    )
    before = WindowEvent.objects.filter(window=window).count()

    check = run(postgres_target(), window=window, by=commander)

    event = WindowEvent.objects.filter(window=window).order_by("-seq").first()
    assert WindowEvent.objects.filter(window=window).count() == before + 1
    assert event.kind == WindowEventKind.BACKUP
    assert event.data == {
        "check": check.pk,
        "target": check.target_id,
        "state": "passed",
        "duration_ms": check.duration_ms,
    }
    assert event.body.startswith(f"Backup check of {check.target}: passed. Schema and row")


# --- requests that are refused ----------------------------------------------------------------


def test_request_for_a_non_postgres_target_is_refused(backups):
    with pytest.raises(MaintenanceError) as raised:
        backup_check_request(target=TargetFactory(kind="http"))
    assert raised.value.code == "wrong_target_kind"
    assert not BackupVerification.objects.exists()


def test_request_queues_the_task_only_on_commit(backups, django_capture_on_commit_callbacks):
    target = postgres_target()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        check = backup_check_request(target=target)
    assert len(callbacks) == 1
    assert check.state == BackupState.QUEUED
    assert check.created_at <= timezone.now() + timedelta(seconds=1)
