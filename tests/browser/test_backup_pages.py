"""A commander verifies last night's backup from the maintenance pages in Chromium: picks the
database, names the dump, and reads the result; a failed check shows its row counts and schema
diff. The pages are photographed under tests/screenshots/."""

from __future__ import annotations

import pytest
from celery import current_app
from playwright.sync_api import expect

from accounts.permissions import Role
from maintenance.backup.services import backup_check_request
from tests.maintenance.backup_support import postgres_target, source_database, take_dump

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


@pytest.fixture
def backups(settings, tmp_path):
    directory = tmp_path / "backups"
    directory.mkdir()
    settings.MAINTENANCE_BACKUP_DIR = directory
    settings.MAINTENANCE_BACKUP_TIMEOUT_S = 120
    return directory


@pytest.fixture
def eager_celery():
    """The task sent on commit runs in the web request itself: no worker to wait for."""
    saved = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = saved


def test_commander_verifies_last_nights_backup_and_reads_a_failed_one(
    page, login_as, make_user, screenshot, backups, eager_celery, monkeypatch
):
    commander = make_user(Role.COMMANDER, username="cora")
    with source_database(monkeypatch) as source:
        take_dump(source, backups / "nightly" / "orders.dump")
        target = postgres_target("orders-db")

        login_as(page, commander, next_url="/maintenance/backups/")
        page.get_by_label("Target").select_option(str(target.pk))
        page.get_by_label("Dump path").fill("nightly/orders.dump")
        page.get_by_role("button", name="Verify backup").click()

        expect(page.get_by_role("heading", level=1)).to_contain_text("Backup check #")
        expect(page.locator("#backup-result")).to_contain_text("Passed")
        expect(page.locator("#backup-result")).to_contain_text(
            "Schema and row counts match: 3 tables, 157 rows."
        )
        screenshot(page, "backup-check-passed")

        # Someone changed the schema and deleted rows since the dump: the next check fails.
        source.execute(
            "ALTER TABLE customers ADD COLUMN loyalty_tier text", "DELETE FROM orders WHERE id < 6"
        )
        # Committed at once (no test transaction here): the eager task has run it already.
        failed = backup_check_request(target=target, dump_path="nightly/orders.dump")

    page.goto(f"/maintenance/backups/{failed.pk}/")
    result = page.locator("#backup-result")
    expect(result).to_contain_text("Failed")
    expect(result.locator("tr.bk-mismatch")).to_contain_text("public.orders")
    expect(result.locator(".bk-diff .bk-del").last).to_have_text("-    loyalty_tier text")
    screenshot(page, "backup-check-failed")

    page.get_by_role("link", name="Backup checks").first.click()
    expect(page.locator(".bk-checks tbody tr")).to_have_count(2)
    screenshot(page, "backup-checks-list")
