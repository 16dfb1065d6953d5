"""Backup schedules and the sweeper: due schedules start one check each, lost checks close.

Time is passed in as `now`; the sweeps run inline as beat's task would run them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from celery import current_app
from psycopg import sql

from maintenance.backup import services
from maintenance.backup.services import (
    backup_checks_sweep,
    backup_schedule_save,
    backup_schedules_sweep,
)
from maintenance.errors import MaintenanceError
from maintenance.models import BackupSchedule, BackupState, BackupVerification
from tests.diagnostics.peers.pg_scratch import admin_connection
from tests.factories import TargetFactory

from .backup_support import database_exists, postgres_target, source_database

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
def backups(settings, tmp_path):
    directory = tmp_path / "backups"
    directory.mkdir()
    settings.MAINTENANCE_BACKUP_DIR = directory
    settings.MAINTENANCE_BACKUP_TIMEOUT_S = 120
    return directory


def schedule_for(target=None, **fields) -> BackupSchedule:
    fields.setdefault("next_run_at", NOW)
    return backup_schedule_save(target=target or postgres_target(), **fields)


def test_two_sweeps_with_the_same_now_start_one_check(backups):
    schedule = schedule_for(interval_hours=24)

    first = backup_schedules_sweep(now=NOW)
    second = backup_schedules_sweep(now=NOW)

    assert (first, second) == (1, 0)
    check = BackupVerification.objects.get()
    assert check.schedule == schedule
    assert check.state == BackupState.QUEUED
    schedule.refresh_from_db()
    assert schedule.next_run_at == NOW + timedelta(hours=24)
    assert schedule.last_run_at == NOW


def test_runs_missed_while_beat_was_down_start_one_catch_up_check(backups):
    schedule = schedule_for(interval_hours=6, next_run_at=NOW - timedelta(hours=20))

    assert backup_schedules_sweep(now=NOW) == 1

    schedule.refresh_from_db()
    assert schedule.next_run_at == NOW + timedelta(hours=4)  # on the old cadence, in the future
    assert backup_schedules_sweep(now=NOW + timedelta(hours=3)) == 0
    assert backup_schedules_sweep(now=NOW + timedelta(hours=4)) == 1


def test_disabled_and_not_yet_due_schedules_start_nothing(backups):
    schedule_for(enabled=False)
    schedule_for(target=postgres_target("later-db"), next_run_at=NOW + timedelta(minutes=1))

    assert backup_schedules_sweep(now=NOW) == 0
    assert not BackupVerification.objects.exists()


def test_scheduled_check_whose_dump_is_missing_is_recorded_as_an_error(backups):
    schedule = schedule_for(dump_path="nightly/orders.dump")

    assert backup_schedules_sweep(now=NOW) == 1

    check = BackupVerification.objects.get()
    assert check.schedule == schedule
    assert check.state == BackupState.ERROR
    assert check.error == "There is no dump at nightly/orders.dump."
    assert check.finished_at == NOW


def test_schedule_for_a_dump_outside_the_directory_is_refused(backups):
    with pytest.raises(MaintenanceError) as raised:
        schedule_for(dump_path="/etc/passwd")
    assert raised.value.code == "dump_outside_directory"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"interval_hours": 0}, "invalid_interval"),
        ({"dump_path": "../elsewhere.dump"}, "dump_path_invalid"),
    ],
)
def test_invalid_schedules_are_refused(backups, fields, code):
    with pytest.raises(MaintenanceError) as raised:
        schedule_for(**fields)
    assert raised.value.code == code


def test_only_postgres_targets_get_schedules(backups):
    with pytest.raises(MaintenanceError) as raised:
        schedule_for(target=TargetFactory(kind="http"))
    assert raised.value.code == "wrong_target_kind"


def test_a_target_has_one_schedule(backups):
    target = postgres_target()
    schedule = schedule_for(target)

    with pytest.raises(MaintenanceError) as raised:
        schedule_for(target)
    assert raised.value.code == "schedule_exists"
    changed = backup_schedule_save(target=target, interval_hours=12, schedule=schedule)
    assert changed.pk == schedule.pk and changed.interval_hours == 12


# --- lost checks ------------------------------------------------------------------------------


def test_check_running_past_its_time_limit_is_closed_and_its_scratch_database_dropped(
    monkeypatch, backups
):
    with source_database(monkeypatch):
        target = postgres_target()
        leftover = f"opsportal_verify_999_{'ab' * 4}"
        with admin_connection() as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(leftover)))
        started = NOW - services.stale_running_after() - timedelta(seconds=1)
        check = BackupVerification.objects.create(
            target=target,
            state=BackupState.RUNNING,
            started_at=started,
            scratch_database=leftover,
        )
        fresh = BackupVerification.objects.create(
            target=target, state=BackupState.RUNNING, started_at=NOW - timedelta(minutes=5)
        )

        report = backup_checks_sweep(now=NOW)

    assert report["worker_lost"] == 1
    check.refresh_from_db()
    assert check.state == BackupState.ERROR
    assert check.error == (
        "Worker lost: the check was still running past its time limit. "
        f"Its scratch database {leftover} was dropped."
    )
    assert not database_exists(leftover)
    fresh.refresh_from_db()
    assert fresh.state == BackupState.RUNNING


def test_check_no_worker_picked_up_is_closed_after_the_pickup_deadline(backups):
    check = BackupVerification.objects.create(
        target=postgres_target(), created_at=NOW - services.PICKUP_DEADLINE - timedelta(minutes=1)
    )

    report = backup_checks_sweep(now=NOW)

    assert report["abandoned"] == 1
    check.refresh_from_db()
    assert check.state == BackupState.ERROR
    assert check.summary == "No worker picked the check up within 2 h."


@pytest.fixture
def eager_celery():
    """Celery in eager mode: a sent task runs here, through the real task function."""
    saved = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = saved


def test_queued_check_a_lost_message_left_behind_is_sent_again_and_runs(
    monkeypatch, backups, eager_celery
):
    with source_database(monkeypatch):
        check = BackupVerification.objects.create(
            target=postgres_target(), created_at=NOW - services.RESEND_AFTER - timedelta(minutes=1)
        )

        report = backup_checks_sweep(now=NOW)

    assert report["resent"] == 1
    check.refresh_from_db()
    assert check.state == BackupState.PASSED, check.error
    assert check.attempts == 1
