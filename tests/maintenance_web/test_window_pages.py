"""Maintenance window pages: list, calendar, window page and its actions, by role; sections,
flags, query counts and escaping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.permissions import Role
from maintenance import services
from maintenance.models import MaintenanceWindow, Phase, WindowEventKind, WindowState
from tests.factories import ServiceFactory
from tests.maintenance.support import small_template, tick_all

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "viewer", "responder", "commander", "admin"]
HOUR = timedelta(hours=1)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def orders_db(db):
    return ServiceFactory(name="Orders DB", slug="orders-db")


def plan(by, service, *, start=None, hours=2, title="Upgrade the database", **kwargs):
    """A window on `service` starting in a day (or at `start`), with the small checklist."""
    start = start or timezone.now() + 24 * HOUR
    kwargs.setdefault("template", small_template(f"t-{MaintenanceWindow.objects.count()}"))
    kwargs.setdefault("confirm_overlap", True)
    kwargs.setdefault("rollback_plan", "Restore the snapshot.")
    return services.window_create(
        title=title,
        services=[service],
        scheduled_start=start,
        scheduled_end=start + hours * HOUR,
        by=by,
        **kwargs,
    )


def started(by, service, **kwargs):
    window = plan(by, service, **kwargs)
    tick_all(window, by, Phase.PRE)
    return services.window_start(window=window, by=by)


def verifying(by, service, **kwargs):
    window = started(by, service, **kwargs)
    tick_all(window, by, Phase.POST)
    return services.window_verify(window=window, by=by)


# --- Role tables ------------------------------------------------------------------------------

PAGES = {
    "list": (
        lambda w: reverse("maintenance:list"),
        dict(anonymous=302, viewer=200, responder=200, commander=200, admin=200),
    ),
    "calendar": (
        lambda w: reverse("maintenance:list") + "?view=calendar",
        dict(anonymous=302, viewer=200, responder=200, commander=200, admin=200),
    ),
    "new": (
        lambda w: reverse("maintenance:new"),
        dict(anonymous=302, viewer=403, responder=403, commander=200, admin=200),
    ),
    "detail": (
        lambda w: reverse("maintenance:detail", args=[w.pk]),
        dict(anonymous=302, viewer=200, responder=200, commander=200, admin=200),
    ),
    "edit": (
        lambda w: reverse("maintenance:edit", args=[w.pk]),
        dict(anonymous=302, viewer=403, responder=403, commander=200, admin=200),
    ),
}


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("persona", ROLES, indirect=True)
def test_pages_by_role(client, persona, commander, orders_db, name, request):
    window = plan(commander, orders_db)
    url_of, expected = PAGES[name]
    if persona is not None:
        client.force_login(persona)
    role = request.node.callspec.params["persona"]
    response = client.get(url_of(window))
    assert response.status_code == expected[role]
    if role == "anonymous":
        assert response["Location"].startswith(reverse("login"))


WORKERS = dict(anonymous=302, viewer=403, responder=302, commander=302, admin=302)
MANAGERS = dict(anonymous=302, viewer=403, responder=403, commander=302, admin=302)


def _in_progress(commander, service):
    return started(commander, service)


ACTIONS = {
    # name: (window builder, url name, data, expected)
    "start": (plan, "start", {}, MANAGERS),
    "verify": (_in_progress, "verify", {}, MANAGERS),
    "complete": (verifying, "complete", {}, MANAGERS),
    "cancel": (plan, "cancel", {"reason": "vendor postponed"}, MANAGERS),
    "extend": (_in_progress, "extend", {"reason": "slow migration"}, MANAGERS),
    "item_add": (plan, "item_add", {"phase": "during", "title": "Watch replication"}, WORKERS),
    "note": (plan, "note", {"body": "Snapshot taken at 02:10."}, WORKERS),
    "item_set": (plan, "item_set", {"done": "true"}, WORKERS),
}


@pytest.mark.parametrize("name", ACTIONS)
@pytest.mark.parametrize("persona", ROLES, indirect=True)
def test_actions_by_role(client, persona, commander, orders_db, name, request):
    build, url_name, data, expected = ACTIONS[name]
    window = build(commander, orders_db)
    if url_name == "start":
        tick_all(window, commander, Phase.PRE)
    if url_name == "extend":
        data = {**data, "scheduled_end": (window.scheduled_end + HOUR).strftime("%Y-%m-%dT%H:%M")}
    args = [window.pk]
    if url_name == "item_set":
        args.append(window.checklist.first().pk)
    if persona is not None:
        client.force_login(persona)
    role = request.node.callspec.params["persona"]
    response = client.post(reverse(f"maintenance:{url_name}", args=args), data)
    assert response.status_code == expected[role], response.content.decode()[:2000]
    if role == "anonymous":
        assert response["Location"].startswith(reverse("login"))
    elif expected[role] == 302:
        assert response["Location"].startswith(reverse("maintenance:detail", args=[window.pk]))


def test_actions_answer_get_with_405(client, commander, orders_db):
    window = plan(commander, orders_db)
    client.force_login(commander)
    assert client.get(reverse("maintenance:start", args=[window.pk])).status_code == 405


def test_unknown_window_and_foreign_item_are_404(client, commander, orders_db):
    window = plan(commander, orders_db)
    other = plan(commander, orders_db, title="Other")
    client.force_login(commander)
    assert client.get(reverse("maintenance:detail", args=[999_999])).status_code == 404
    foreign = other.checklist.first()
    url = reverse("maintenance:item_set", args=[window.pk, foreign.pk])
    assert client.post(url, {"done": "true"}).status_code == 404


# --- The list and the calendar ----------------------------------------------------------------


def _section(html: str, heading: str) -> str:
    """The HTML of the list section under `heading` (up to the next section)."""
    start = html.index(f">{heading}</h2>")
    end = html.find("<section", start)
    return html[start : end if end != -1 else len(html)]


def test_list_sorts_windows_into_in_progress_upcoming_and_past(client, viewer, commander):
    now = timezone.now()
    running = started(commander, ServiceFactory(), title="Running long", start=now - 3 * HOUR)
    soon = plan(commander, ServiceFactory(), title="Kernel patch")
    late = plan(commander, ServiceFactory(), title="Should have begun", start=now - HOUR)
    done = verifying(commander, ServiceFactory(), title="Finished job")
    services.window_complete(window=done, by=commander)
    called_off = plan(commander, ServiceFactory(), title="Called off")
    services.window_cancel(window=called_off, by=commander, reason="postponed")
    internal = plan(commander, ServiceFactory(), title="Quiet internal", public=False)

    client.force_login(viewer)
    html = client.get(reverse("maintenance:list")).content.decode()
    active, upcoming, past = (_section(html, h) for h in ("In progress", "Upcoming", "Past"))
    assert running.title in active and "overrunning" in active
    assert soon.title in upcoming and late.title in upcoming and internal.title in upcoming
    assert "late to start" in upcoming and upcoming.count("late to start") == 1
    assert done.title in past and called_off.title in past
    assert "Completed" in past and "Cancelled" in past
    assert "Internal" in upcoming and "Public" in upcoming
    assert "starts in 2" in upcoming  # relative hint beside the UTC range
    assert "UTC" in upcoming
    assert "Plan a window" not in html  # viewers do not plan


def test_past_windows_are_paginated(client, viewer, commander):
    service = ServiceFactory()
    for n in range(21):
        window = plan(commander, service, title=f"Old {n:02d}")
        services.window_cancel(window=window, by=commander)
    client.force_login(viewer)
    first = client.get(reverse("maintenance:list")).content.decode()
    assert "Page 1 of 2" in first and "Old 20" in first and "Old 00" not in first
    second = client.get(reverse("maintenance:list"), {"page": 2}).content.decode()
    assert "Old 00" in second


def test_list_filters_by_service(client, viewer, commander, orders_db):
    plan(commander, orders_db, title="Database work")
    plan(commander, ServiceFactory(slug="search"), title="Search work")
    client.force_login(viewer)
    html = client.get(reverse("maintenance:list"), {"service": "orders-db"}).content.decode()
    assert "Database work" in html and "Search work" not in html
    unknown = client.get(reverse("maintenance:list"), {"service": "no-such"})
    assert unknown.status_code == 400
    assert "Select a valid choice" in unknown.content.decode()


def test_calendar_puts_windows_on_their_days(client, viewer, commander, orders_db):
    start = datetime(2031, 3, 30, 22, 0, tzinfo=UTC)  # runs past midnight into the 31st
    window = plan(commander, orders_db, title="Night upgrade", start=start, hours=4)
    plan(commander, orders_db, title="April job", start=datetime(2031, 4, 2, 9, tzinfo=UTC))
    client.force_login(viewer)
    response = client.get(reverse("maintenance:list"), {"view": "calendar", "month": "2031-03"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "March 2031" in html
    assert html.count(f'href="{reverse("maintenance:detail", args=[window.pk])}"') == 2
    assert ">22:00</span>" in html and "continued" in html
    assert "April job" in html  # 2 April is in the grid's last week, greyed
    assert "month=2031-02" in html and "month=2031-04" in html


def test_calendar_wraps_the_year_and_rejects_a_bad_month(client, viewer):
    client.force_login(viewer)
    december = client.get(reverse("maintenance:list"), {"view": "calendar", "month": "2030-12"})
    assert "month=2031-01" in december.content.decode()
    bad = client.get(reverse("maintenance:list"), {"view": "calendar", "month": "2030-13"})
    assert bad.status_code == 400
    assert "Use YYYY-MM" in bad.content.decode()


def test_calendar_filters_by_service(client, viewer, commander, orders_db):
    start = datetime(2031, 5, 5, 10, tzinfo=UTC)
    plan(commander, orders_db, title="Database work", start=start)
    plan(commander, ServiceFactory(slug="search"), title="Search work", start=start)
    client.force_login(viewer)
    html = client.get(
        reverse("maintenance:list"), {"view": "calendar", "month": "2031-05", "service": "search"}
    ).content.decode()
    assert "Search work" in html and "Database work" not in html


# --- Query counts -----------------------------------------------------------------------------


def _windows(commander, count):
    now = timezone.now()
    for n in range(count):
        service = ServiceFactory()
        if n % 3 == 0:
            started(commander, service, start=now - HOUR)
        elif n % 3 == 1:
            plan(commander, service, start=now + n * HOUR)
        else:
            window = plan(commander, service)
            services.window_cancel(window=window, by=commander)


def _queries(client, django_assert_max_num_queries, url, limit):
    with django_assert_max_num_queries(limit) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("view", ["list", "calendar"])
def test_list_query_count_does_not_grow_with_windows(
    client, viewer, commander, django_assert_max_num_queries, view
):
    url = reverse("maintenance:list") + ("?view=calendar" if view == "calendar" else "")
    client.force_login(viewer)
    _windows(commander, 3)  # one in each section: an empty section skips its prefetch
    few = _queries(client, django_assert_max_num_queries, url, 15)
    _windows(commander, 20)
    many = _queries(client, django_assert_max_num_queries, url, 15)
    assert many == few


def test_detail_query_count_does_not_grow_with_items_and_events(
    client, responder, commander, orders_db, django_assert_max_num_queries
):
    window = plan(commander, orders_db)
    client.force_login(responder)
    url = reverse("maintenance:detail", args=[window.pk])
    few = _queries(client, django_assert_max_num_queries, url, 20)
    for n in range(20):
        item = services.checklist_item_add(
            window=window, phase=Phase.DURING, title=f"Step {n}", by=commander
        )
        services.checklist_item_set(item=item, done=True, by=responder)
        services.note_add(window=window, body=f"note {n}", by=responder)
    many = _queries(client, django_assert_max_num_queries, url, 20)
    assert many == few


# --- The window page --------------------------------------------------------------------------


def test_window_page_shows_header_checklist_and_log(client, viewer, commander, orders_db):
    window = plan(
        commander, orders_db, description="Upgrade to **16.4**.", public=False, title="PG upgrade"
    )
    services.note_add(window=window, body="Dry run went _fine_.", by=commander)
    client.force_login(viewer)
    html = client.get(reverse("maintenance:detail", args=[window.pk])).content.decode()
    assert f"MW-{window.pk}" in html and "PG upgrade" in html
    assert "Scheduled" in html and "Internal" in html and "Orders DB" in html
    assert "<strong>16.4</strong>" in html and "<em>fine</em>" in html
    assert "Restore the snapshot." in html  # rollback plan
    for phase in ("Before", "During", "After"):
        assert f">{phase} <span" in html
    assert "required" in html
    assert 'class="event-seq mono">#1<' in html and "Created" in html
    # Viewers read: no action buttons, no tick boxes, no note form.
    assert "Start maintenance" not in html and 'role="checkbox"' not in html
    assert "Add a note" not in html


def test_buttons_follow_the_state_and_the_role(client, responder, commander, orders_db):
    window = plan(commander, orders_db)
    url = reverse("maintenance:detail", args=[window.pk])
    client.force_login(responder)
    html = client.get(url).content.decode()
    assert 'role="checkbox"' in html and "Add a note" in html and "Add item" in html
    assert "Start maintenance" not in html and ">Edit<" not in html
    client.force_login(commander)
    html = client.get(url).content.decode()
    assert "Start maintenance" in html and "Cancel window" in html
    assert "Extend…" not in html and "Override reason" not in html
    tick_all(window, commander, Phase.PRE)
    services.window_start(window=window, by=commander)
    html = client.get(url).content.decode()
    assert "Move to verifying" in html and "Extend…" in html and "Cancel window" not in html
    services.window_verify(window=window, by=commander)
    html = client.get(url).content.decode()
    assert ">Complete</button>" in html
    assert "Health before and after" in html


def test_finished_window_offers_no_actions(client, commander, orders_db):
    window = plan(commander, orders_db)
    services.window_cancel(window=window, by=commander, reason="vendor postponed")
    client.force_login(commander)
    html = client.get(reverse("maintenance:detail", args=[window.pk])).content.decode()
    assert "Cancelled" in html and "Reason: vendor postponed" in html
    assert "Start maintenance" not in html and 'role="checkbox"' not in html
    assert "Add a note" not in html and ">Edit<" not in html
    edit = client.get(reverse("maintenance:edit", args=[window.pk]))
    assert edit.status_code == 302


def test_illegal_move_is_a_409_with_the_allowed_moves(client, commander, orders_db):
    window = plan(commander, orders_db)
    client.force_login(commander)
    response = client.post(reverse("maintenance:complete", args=[window.pk]))
    assert response.status_code == 409
    html = response.content.decode()
    assert "cannot move to completed" in html and "in_progress, cancelled" in html


# --- Escaping ---------------------------------------------------------------------------------

XSS_TITLE = '<script>alert("t")</script><img src=x onerror=alert(1)>'
XSS_TEXT = (
    '**ok** <script>alert("d")</script> [x](javascript:alert(2)) <img src=x onerror="alert(3)">'
)


def test_title_and_texts_are_escaped_or_sanitized_everywhere(client, viewer, commander, orders_db):
    start = datetime(2031, 6, 10, 8, tzinfo=UTC)
    window = plan(
        commander,
        orders_db,
        title=XSS_TITLE,
        description=XSS_TEXT,
        rollback_plan=XSS_TEXT,
        start=start,
    )
    services.note_add(window=window, body=XSS_TEXT, by=commander)
    item = services.checklist_item_add(
        window=window, phase=Phase.PRE, title=XSS_TITLE, by=commander
    )
    client.force_login(viewer)
    pages = [
        reverse("maintenance:list"),
        reverse("maintenance:list") + "?view=calendar&month=2031-06",
        reverse("maintenance:detail", args=[window.pk]),
    ]
    for url in pages:
        html = client.get(url).content.decode()
        assert "<script>alert" not in html, url
        assert "<img" not in html, url
        assert "javascript:alert" not in html, url
        assert "&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;" in html, url
    detail = client.get(reverse("maintenance:detail", args=[window.pk])).content.decode()
    assert "<strong>ok</strong>" in detail
    assert f'id="item-{item.pk}-title">&lt;script&gt;' in detail


def test_log_shows_who_did_what(client, viewer, commander, orders_db):
    window = plan(commander, orders_db)
    services.note_add(window=window, body="hello", by=commander)
    client.force_login(viewer)
    html = client.get(reverse("maintenance:detail", args=[window.pk])).content.decode()
    kinds = list(window.events.values_list("kind", flat=True))
    assert WindowEventKind.NOTE in kinds
    assert html.count('class="event event-') == len(kinds)
    assert commander.display_name in html
    assert WindowState.SCHEDULED.label in html


def test_the_window_page_runs_and_lists_backup_checks_for_the_window(client, make_user):
    from catalog.models import Target
    from maintenance.backup.services import backup_check_request
    from tests.maintenance.support import plan as plan_window

    commander = make_user(Role.COMMANDER)
    service = ServiceFactory(slug="orders")
    target = Target.objects.create(
        service=service, name="orders-db", kind="postgres", config={"dsn_env": "ORDERS_DSN"}
    )
    window = plan_window(commander, [service])
    client.force_login(commander)
    page = client.get(f"/maintenance/{window.pk}/")
    assert b"Verify backup" in page.content and b"orders-db" in page.content
    check = backup_check_request(target=target, by=commander, window=window)
    page = client.get(f"/maintenance/{window.pk}/")
    assert f"/maintenance/backups/{check.pk}/".encode() in page.content

    client.force_login(make_user(Role.VIEWER))
    assert b"Verify backup" not in client.get(f"/maintenance/{window.pk}/").content
