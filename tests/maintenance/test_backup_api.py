"""/api/v1/backup-checks/ and /api/v1/backup-schedules/: roles, refusals, a real run, queries."""

from __future__ import annotations

import pytest

from accounts.permissions import Role
from maintenance.backup.services import backup_check_run
from maintenance.models import BackupSchedule, BackupState, BackupVerification
from tests.factories import TargetFactory

from .backup_support import SOURCE_COUNTS, postgres_target, source_database, take_dump

pytestmark = pytest.mark.django_db
CHECKS = "/api/v1/backup-checks/"
SCHEDULES = "/api/v1/backup-schedules/"


@pytest.fixture
def backups(settings, tmp_path):
    directory = tmp_path / "backups"
    directory.mkdir()
    settings.MAINTENANCE_BACKUP_DIR = directory
    settings.MAINTENANCE_BACKUP_TIMEOUT_S = 120
    return directory


@pytest.mark.parametrize(
    ("role", "read", "run", "write"),
    [
        (None, 401, 401, 401),
        (Role.VIEWER, 200, 403, 403),
        (Role.RESPONDER, 200, 403, 403),
        (Role.COMMANDER, 200, 202, 201),
        (Role.ADMIN, 200, 202, 201),
    ],
)
def test_role_table(api_as, make_user, backups, role, read, run, write):
    target = postgres_target()
    check = BackupVerification.objects.create(target=target)
    schedule = BackupSchedule.objects.create(target=postgres_target("other-db"))
    client = api_as(make_user(role) if role else None)

    assert client.get(CHECKS).status_code == read
    assert client.get(f"{CHECKS}{check.pk}/").status_code == read
    assert client.get(SCHEDULES).status_code == read
    assert client.get(f"{SCHEDULES}{schedule.pk}/").status_code == read
    assert client.post(CHECKS, {"target": target.pk}, format="json").status_code == run
    created = client.post(SCHEDULES, {"target": target.pk}, format="json")
    assert created.status_code == write
    changed = client.patch(f"{SCHEDULES}{schedule.pk}/", {"enabled": False}, format="json")
    assert changed.status_code == (200 if write == 201 else write)
    deleted = client.delete(f"{SCHEDULES}{schedule.pk}/")
    assert deleted.status_code == (204 if write == 201 else write)


def test_create_answers_202_with_the_queued_row(api_as, commander, backups):
    target = postgres_target()

    response = api_as(commander).post(CHECKS, {"target": target.pk}, format="json")

    assert response.status_code == 202
    assert response.json()["state"] == "queued"
    assert response.json()["target"] == target.pk
    assert response.json()["target_label"] == str(target)
    assert response.json()["requested_by"] == commander.username
    assert response.json()["row_counts"] == {}


@pytest.mark.parametrize(
    ("dump_path", "code"),
    [
        ("/etc/passwd", "dump_outside_directory"),
        ("../../etc/passwd", "dump_path_invalid"),
        ("nightly/missing.dump", "dump_missing"),
    ],
)
def test_dump_paths_outside_the_directory_or_missing_are_refused(
    api_as, commander, backups, dump_path, code
):
    target = postgres_target()

    response = api_as(commander).post(
        CHECKS, {"target": target.pk, "dump_path": dump_path}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["type"] == code
    assert response.json()["detail"]
    assert not BackupVerification.objects.exists()


def test_symlink_out_of_the_directory_is_refused(api_as, commander, backups, tmp_path):
    outside = tmp_path / "secret.dump"
    outside.write_bytes(b"PGDMP")
    (backups / "latest.dump").symlink_to(outside)

    response = api_as(commander).post(
        CHECKS, {"target": postgres_target().pk, "dump_path": "latest.dump"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["type"] == "dump_outside_directory"


def test_non_postgres_target_is_refused(api_as, commander, backups):
    response = api_as(commander).post(
        CHECKS, {"target": TargetFactory(kind="http").pk}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["type"] == "wrong_target_kind"


@pytest.mark.parametrize(
    "payload",
    [{}, {"target": "x"}, {"target": 2**63}, {"target": 1, "dump_path": "a" * 501}],
)
def test_malformed_requests_are_400(api_as, commander, backups, payload):
    response = api_as(commander).post(CHECKS, payload, format="json")
    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"


@pytest.mark.postgres
def test_a_dump_checked_over_the_api_reads_back_passed(api_as, commander, backups, monkeypatch):
    with source_database(monkeypatch) as source:
        take_dump(source, backups / "orders.dump")
        target = postgres_target()
        response = api_as(commander).post(
            CHECKS, {"target": target.pk, "dump_path": "orders.dump"}, format="json"
        )
        backup_check_run(response.json()["id"])  # what the worker does

    detail = api_as(commander).get(f"{CHECKS}{response.json()['id']}/").json()
    assert detail["state"] == "passed", detail["error"]
    assert detail["schema_diff"] == ""
    assert {table: row["restored"] for table, row in detail["row_counts"].items()} == (
        SOURCE_COUNTS
    )
    listed = api_as(commander).get(CHECKS, {"state": "passed"}).json()
    assert [row["id"] for row in listed["results"]] == [detail["id"]]
    assert "schema_diff" not in listed["results"][0]


def test_schedule_create_and_change_validate_through_the_service(api_as, commander, backups):
    client = api_as(commander)
    target = postgres_target()

    created = client.post(
        SCHEDULES,
        {"target": target.pk, "dump_path": "nightly/orders.dump", "interval_hours": 12},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["interval_hours"] == 12
    again = client.post(SCHEDULES, {"target": target.pk}, format="json")
    assert again.status_code == 400
    assert again.json()["type"] == "schedule_exists"
    outside = client.patch(
        f"{SCHEDULES}{created.json()['id']}/", {"dump_path": "/var/lib/x.dump"}, format="json"
    )
    assert outside.status_code == 400
    assert outside.json()["type"] == "dump_outside_directory"
    http = client.post(SCHEDULES, {"target": TargetFactory(kind="http").pk}, format="json")
    assert http.json()["type"] == "wrong_target_kind"
    zero = client.post(SCHEDULES, {"target": target.pk, "interval_hours": 0}, format="json")
    assert zero.json()["type"] == "validation_error"


@pytest.mark.parametrize("count", [1, 20])
def test_list_query_count_does_not_grow(
    api_as, commander, backups, count, django_assert_max_num_queries
):
    for index in range(count):
        target = postgres_target(f"db-{index}")
        BackupVerification.objects.create(
            target=target, state=BackupState.PASSED, requested_by=commander
        )
        BackupSchedule.objects.create(target=target)
    client = api_as(commander)

    with django_assert_max_num_queries(6):
        assert client.get(CHECKS).json()["count"] == count
    with django_assert_max_num_queries(6):
        assert client.get(SCHEDULES).json()["count"] == count
