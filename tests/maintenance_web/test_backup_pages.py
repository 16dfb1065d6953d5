"""Backup check pages: who sees and runs what, what a result shows, escaping, query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.permissions import Role
from maintenance.backup.services import backup_check_run
from maintenance.models import (
    BackupSchedule,
    BackupState,
    BackupVerification,
    MaintenanceWindow,
    WindowState,
)
from tests.factories import TargetFactory
from tests.maintenance.backup_support import postgres_target, source_database

pytestmark = pytest.mark.django_db


@pytest.fixture
def backups(settings, tmp_path):
    directory = tmp_path / "backups"
    directory.mkdir()
    settings.MAINTENANCE_BACKUP_DIR = directory
    settings.MAINTENANCE_BACKUP_TIMEOUT_S = 120
    return directory


def failed_check(**fields) -> BackupVerification:
    fields.setdefault("target", postgres_target())
    return BackupVerification.objects.create(
        state=BackupState.FAILED,
        summary="Schema differs (1 lines)",
        schema_diff="--- source\n+++ restored\n@@ -1,2 +1,2 @@\n-    loyalty_tier text\n"
        "+    note text\n CREATE TABLE public.customers (",
        row_counts={
            "public.orders": {"source": 100, "restored": 120},
            "public.customers": {"source": 30, "restored": 30},
        },
        duration_ms=1234,
        **fields,
    )


@pytest.mark.parametrize(
    ("role", "read", "run"),
    [
        ("anonymous", 302, 302),
        ("viewer", 200, 403),
        ("responder", 200, 403),
        ("commander", 200, 302),
        ("admin", 200, 302),
    ],
)
def test_role_table(client, make_user, backups, role, read, run):
    check = failed_check()
    schedule = BackupSchedule.objects.create(target=postgres_target("other-db"))
    if role != "anonymous":
        client.force_login(make_user(Role(role)))

    assert client.get(reverse("maintenance:backup-list")).status_code == read
    assert client.get(reverse("maintenance:backup-detail", args=[check.pk])).status_code == read
    started = client.post(reverse("maintenance:backup-run"), {"target": check.target_id})
    assert started.status_code == run
    saved = client.post(
        reverse("maintenance:backup-schedule-save"),
        {"target": check.target_id, "interval_hours": 24, "enabled": "on"},
    )
    assert saved.status_code == run
    deleted = client.post(reverse("maintenance:backup-schedule-delete", args=[schedule.pk]))
    assert deleted.status_code == run
    if role == "anonymous":
        assert started.url.startswith(reverse("login"))


def test_viewers_see_checks_and_schedules_but_no_forms(client, viewer, backups):
    failed_check()
    BackupSchedule.objects.create(target=postgres_target("other-db"), dump_path="n/o.dump")
    client.force_login(viewer)

    html = client.get(reverse("maintenance:backup-list")).content.decode()

    assert '<span class="status status-major_outage">' in html and "Failed</span>" in html
    assert "Schema differs (1 lines)" in html
    assert "1.2 s" in html
    assert "<code>n/o.dump</code>" in html
    assert reverse("maintenance:backup-run") not in html
    assert "Add or change a schedule" not in html


def test_run_form_offers_only_postgres_targets(client, commander, backups):
    postgres = postgres_target("orders-db")
    http = TargetFactory(kind="http", name="web-health")
    client.force_login(commander)

    html = client.get(reverse("maintenance:backup-list")).content.decode()

    assert f'<option value="{postgres.pk}"' in html
    assert f'<option value="{http.pk}"' not in html


def test_running_a_check_from_the_page_queues_it_and_opens_its_page(client, commander, backups):
    target = postgres_target()
    client.force_login(commander)

    response = client.post(reverse("maintenance:backup-run"), {"target": target.pk})

    check = BackupVerification.objects.get()
    assert response.url == reverse("maintenance:backup-detail", args=[check.pk])
    assert check.requested_by == commander and check.state == BackupState.QUEUED
    html = client.get(response.url).content.decode()
    assert "is queued" in html
    assert 'hx-trigger="every 3s"' in html


def test_a_check_can_be_run_for_an_open_maintenance_window(client, commander, backups):
    now = timezone.now()
    window = MaintenanceWindow.objects.create(
        title="Upgrade orders-db", scheduled_start=now, scheduled_end=now + timedelta(hours=1)
    )
    done = MaintenanceWindow.objects.create(
        title="Old work",
        scheduled_start=now - timedelta(days=2),
        scheduled_end=now - timedelta(days=1),
        state=WindowState.COMPLETED,
    )
    target = postgres_target()
    client.force_login(commander)

    html = client.get(reverse("maintenance:backup-list")).content.decode()
    assert f'<option value="{window.pk}">Upgrade orders-db</option>' in html
    assert f'<option value="{done.pk}"' not in html
    client.post(reverse("maintenance:backup-run"), {"target": target.pk, "window": window.pk})
    assert BackupVerification.objects.get().window == window


def test_a_dump_outside_the_directory_is_refused_on_the_page(client, commander, backups):
    client.force_login(commander)

    response = client.post(
        reverse("maintenance:backup-run"),
        {"target": postgres_target().pk, "dump_path": "/etc/passwd"},
    )

    assert response.status_code == 400
    assert "is outside it" in response.content.decode()
    assert not BackupVerification.objects.exists()


def test_detail_shows_counts_with_mismatches_highlighted_and_the_diff(client, viewer, backups):
    check = failed_check()
    client.force_login(viewer)

    html = client.get(reverse("maintenance:backup-detail", args=[check.pk])).content.decode()

    counts = html.split('class="table bk-counts"')[1].split("</table>")[0]
    rows = counts.split("<tr")[2:]
    assert "public.customers" in rows[0] and "bk-mismatch" not in rows[0]  # sorted by name
    assert 'class="bk-mismatch"' in rows[1] and "public.orders" in rows[1]
    assert ">100<" in rows[1] and ">120<" in rows[1] and "differs" in rows[1]
    assert '<span class="bk-del">-    loyalty_tier text</span>' in html
    assert '<span class="bk-add">+    note text</span>' in html
    assert 'hx-trigger="every 3s"' not in html  # finished: no polling


def test_diff_and_error_text_are_escaped(client, viewer, backups):
    check = failed_check()
    check.schema_diff = "+COMMENT ON TABLE t IS '<script>alert(1)</script>';"
    check.error = "pg_restore reported errors:\n<img src=x onerror=alert(1)>"
    check.save()
    client.force_login(viewer)

    html = client.get(reverse("maintenance:backup-detail", args=[check.pk])).content.decode()

    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_htmx_polling_gets_the_result_partial(client, viewer, backups):
    check = BackupVerification.objects.create(target=postgres_target(), state="running")
    client.force_login(viewer)

    response = client.get(
        reverse("maintenance:backup-detail", args=[check.pk]), headers={"HX-Request": "true"}
    )

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="backup-result"')
    assert "<html" not in html
    assert "is running" in html


def test_saving_a_schedule_twice_changes_the_target_s_one_schedule(client, commander, backups):
    target = postgres_target()
    client.force_login(commander)
    url = reverse("maintenance:backup-schedule-save")

    client.post(url, {"target": target.pk, "interval_hours": 24, "enabled": "on"})
    client.post(url, {"target": target.pk, "interval_hours": 6, "dump_path": "n/orders.dump"})

    schedule = BackupSchedule.objects.get()
    assert (schedule.interval_hours, schedule.dump_path, schedule.enabled) == (
        6,
        "n/orders.dump",
        False,
    )
    bad = client.post(url, {"target": target.pk, "interval_hours": 6, "dump_path": "../x"})
    assert bad.status_code == 400
    assert "must not contain" in bad.content.decode()


@pytest.mark.postgres
def test_a_check_run_from_the_page_shows_its_result(client, commander, backups, monkeypatch):
    with source_database(monkeypatch):
        client.force_login(commander)
        client.post(reverse("maintenance:backup-run"), {"target": postgres_target().pk})
        check = BackupVerification.objects.get()
        backup_check_run(check.pk)

    html = client.get(reverse("maintenance:backup-detail", args=[check.pk])).content.decode()
    assert "Passed</span>" in html
    assert "Schema and row counts match: 3 tables, 157 rows." in html
    assert "The schemas match." in html
    assert html.count('<span class="muted">equal</span>') == 3


@pytest.mark.parametrize("count", [1, 20])
def test_list_page_query_count_does_not_grow(
    client, commander, backups, count, django_assert_max_num_queries
):
    for index in range(count):
        target = postgres_target(f"db-{index}")
        failed_check(target=target, requested_by=commander)
        BackupSchedule.objects.create(target=target)
    client.force_login(commander)

    # Constant: session and permissions, the page of checks, the schedules, the form's choices
    # (Django's Select reads a select's first choice once more for its `required` attribute).
    with django_assert_max_num_queries(13):
        response = client.get(reverse("maintenance:backup-list"))
    assert response.status_code == 200
    assert response.content.decode().count('class="strong mono"') == count
