"""Planning and editing windows through the forms, and the flows of the window page: ticking
the checklist, the start gate and its admin override, extension, regression acknowledgement."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import Target
from catalog.target_configs import validate_target_config
from maintenance import services
from maintenance.models import (
    ChecklistItem,
    MaintenanceWindow,
    Phase,
    WindowEvent,
    WindowEventKind,
    WindowState,
)
from tests.factories import ServiceFactory
from tests.maintenance.support import small_template, tick_all

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)
LOCAL = "%Y-%m-%dT%H:%M"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def orders_db(db):
    return ServiceFactory(name="Orders DB", slug="orders-db")


def plan(by, service, *, start=None, hours=2, title="Upgrade the database", **kwargs):
    start = start or timezone.now() + 24 * HOUR
    kwargs.setdefault("template", small_template(f"t-{MaintenanceWindow.objects.count()}"))
    kwargs.setdefault("rollback_plan", "Restore the snapshot.")
    return services.window_create(
        title=title,
        services=[service],
        scheduled_start=start,
        scheduled_end=start + hours * HOUR,
        confirm_overlap=True,
        by=by,
        **kwargs,
    )


def form_data(service, start: datetime, end: datetime, **extra) -> dict:
    return {
        "title": "Replace the load balancer",
        "description": "New *hardware*.",
        "services": [service.pk],
        "scheduled_start": start.strftime(LOCAL),
        "scheduled_end": end.strftime(LOCAL),
        "rollback_plan": "Switch the DNS back.",
        "public": "on",
        **extra,
    }


# --- Planning ---------------------------------------------------------------------------------


def test_new_form_says_utc_and_preselects_the_default_checklist(client, commander):
    client.force_login(commander)
    response = client.get(reverse("maintenance:new"))
    html = response.content.decode()
    assert 'type="datetime-local"' in html
    assert "enter times in UTC" in html and "Start (UTC)" in html
    form = response.context["form"]
    default = form.fields["template"].queryset.get(is_default=True)
    assert form["template"].value() == default.pk
    assert form["owner"].value() == commander.pk


def test_times_are_read_as_utc_whatever_the_portal_time_zone(
    client, commander, orders_db, settings
):
    settings.TIME_ZONE = "America/New_York"
    client.force_login(commander)
    response = client.post(
        reverse("maintenance:new"),
        form_data(orders_db, datetime(2031, 1, 10, 22, 0), datetime(2031, 1, 11, 1, 30)),
    )
    window = MaintenanceWindow.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("maintenance:detail", args=[window.pk])
    assert window.scheduled_start == datetime(2031, 1, 10, 22, 0, tzinfo=UTC)
    assert window.scheduled_end == datetime(2031, 1, 11, 1, 30, tzinfo=UTC)
    assert window.owner == commander and window.public
    assert window.checklist.count() > 0  # the default checklist was copied
    # The edit form shows the same UTC times back.
    edit = client.get(reverse("maintenance:edit", args=[window.pk])).content.decode()
    assert 'value="2031-01-10T22:00"' in edit


def test_end_before_start_is_a_form_error(client, commander, orders_db):
    client.force_login(commander)
    start = datetime(2031, 1, 10, 22, 0)
    response = client.post(reverse("maintenance:new"), form_data(orders_db, start, start - HOUR))
    assert response.status_code == 400
    assert "The end must be after the start." in response.content.decode()
    assert not MaintenanceWindow.objects.exists()


def test_missing_fields_keep_the_form(client, commander):
    client.force_login(commander)
    response = client.post(reverse("maintenance:new"), {"title": "", "scheduled_start": "soon"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required." in html and "Enter a valid date/time." in html
    assert not MaintenanceWindow.objects.exists()


def test_overlap_needs_confirmation(client, commander, orders_db):
    start = datetime(2031, 2, 1, 20, 0, tzinfo=UTC)
    existing = plan(commander, orders_db, title="Disk swap", start=start)
    client.force_login(commander)
    data = form_data(orders_db, datetime(2031, 2, 1, 21, 0), datetime(2031, 2, 1, 23, 0))

    refused = client.post(reverse("maintenance:new"), data)
    assert refused.status_code == 409
    html = refused.content.decode()
    assert "already have maintenance at that time" in html
    assert (
        existing.ref in html and "Disk swap" in html and "1 Feb 2031 20:00–22:00\u00a0UTC" in html
    )
    assert 'name="confirm_overlap"' in html and "Create anyway" in html
    assert MaintenanceWindow.objects.count() == 1

    confirmed = client.post(reverse("maintenance:new"), {**data, "confirm_overlap": "on"})
    assert confirmed.status_code == 302
    created = MaintenanceWindow.objects.exclude(pk=existing.pk).get()
    assert created.events.get(kind=WindowEventKind.CREATED).data["overlap_confirmed"] is True


def test_no_confirmation_box_without_an_overlap(client, commander):
    client.force_login(commander)
    html = client.get(reverse("maintenance:new")).content.decode()
    assert 'name="confirm_overlap"' not in html


# --- Editing ----------------------------------------------------------------------------------


def test_editing_a_scheduled_window_logs_the_changed_fields(client, commander, orders_db):
    window = plan(commander, orders_db)  # its times have seconds; the form shows minutes
    assert window.scheduled_start.second or window.scheduled_start.microsecond
    client.force_login(commander)
    data = form_data(orders_db, window.scheduled_start, window.scheduled_end)
    data.update(title="Upgrade the database to 16", description="", owner=commander.pk)
    data["rollback_plan"] = window.rollback_plan
    response = client.post(reverse("maintenance:edit", args=[window.pk]), data)
    assert response.status_code == 302
    window.refresh_from_db()
    assert window.title == "Upgrade the database to 16"
    edited = window.events.get(kind=WindowEventKind.EDITED)
    assert sorted(edited.data["fields"]) == ["title"]


def test_edit_overlap_asks_to_save_anyway(client, commander, orders_db):
    start = datetime(2031, 3, 1, 8, tzinfo=UTC)
    plan(commander, orders_db, title="First", start=start)
    second = plan(commander, ServiceFactory(), title="Second", start=start)
    client.force_login(commander)
    data = form_data(orders_db, second.scheduled_start, second.scheduled_end, title="Second")
    response = client.post(reverse("maintenance:edit", args=[second.pk]), data)
    assert response.status_code == 409
    assert "Save anyway" in response.content.decode()
    data["confirm_overlap"] = "on"
    assert client.post(reverse("maintenance:edit", args=[second.pk]), data).status_code == 302
    assert list(second.services.all()) == [orders_db]


def test_a_started_window_edits_only_texts_owner_and_visibility(
    client, commander, admin_user, orders_db
):
    window = plan(commander, orders_db)
    tick_all(window, commander, Phase.PRE)
    services.window_start(window=window, by=commander)
    client.force_login(commander)
    page = client.get(reverse("maintenance:edit", args=[window.pk])).content.decode()
    assert 'name="title"' not in page and 'name="scheduled_start"' not in page
    assert 'name="services"' not in page and "use <em>Extend</em>" in page
    response = client.post(
        reverse("maintenance:edit", args=[window.pk]),
        {
            "title": "sneaky",
            "scheduled_end": "2040-01-01T00:00",
            "description": "Now with notes.",
            "rollback_plan": window.rollback_plan,
            "owner": admin_user.pk,
        },
    )
    assert response.status_code == 302
    window.refresh_from_db()
    assert window.title == "Upgrade the database" and window.scheduled_end.year < 2040
    assert window.description == "Now with notes." and window.owner == admin_user
    assert window.public is False  # the unticked checkbox
    assert sorted(window.events.get(kind=WindowEventKind.EDITED).data["fields"]) == [
        "description",
        "owner",
        "public",
    ]


def test_extension_needs_a_later_end_and_a_reason(client, commander, orders_db):
    window = plan(commander, orders_db)
    tick_all(window, commander, Phase.PRE)
    services.window_start(window=window, by=commander)
    url = reverse("maintenance:extend", args=[window.pk])
    client.force_login(commander)
    earlier = (window.scheduled_end - HOUR).astimezone(UTC).strftime(LOCAL)
    refused = client.post(url, {"scheduled_end": earlier, "reason": "x"})
    assert refused.status_code == 400
    assert "must end later than the current end" in refused.content.decode()
    later = (window.scheduled_end + HOUR).astimezone(UTC).replace(second=0, microsecond=0)
    no_reason = client.post(url, {"scheduled_end": later.strftime(LOCAL), "reason": ""})
    assert no_reason.status_code == 400
    assert (
        client.post(url, {"scheduled_end": later.strftime(LOCAL), "reason": "slow"}).status_code
        == 302
    )
    window.refresh_from_db()
    assert window.scheduled_end == later
    extended = window.events.filter(kind=WindowEventKind.EXTENDED).first()
    assert extended.data["reason"] == "slow" and extended.author == commander


# --- Checklist --------------------------------------------------------------------------------


def test_ticking_an_item_records_who_and_when(client, responder, commander, orders_db):
    window = plan(commander, orders_db)
    item = window.checklist.filter(phase=Phase.PRE).first()
    client.force_login(responder)
    before = timezone.now()
    response = client.post(
        reverse("maintenance:item_set", args=[window.pk, item.pk]), {"done": "true"}
    )
    assert response["Location"].endswith(f"#item-{item.pk}")
    item.refresh_from_db()
    assert item.done_by == responder and item.done_at >= before
    html = client.get(reverse("maintenance:detail", args=[window.pk])).content.decode()
    assert f"Done by <strong>{responder.display_name}</strong>" in html
    assert 'aria-checked="true"' in html
    client.post(reverse("maintenance:item_set", args=[window.pk, item.pk]), {"done": "false"})
    item.refresh_from_db()
    assert item.done_at is None and item.done_by is None
    assert window.events.filter(kind=WindowEventKind.CHECKLIST, author=responder).count() == 2


def test_htmx_tick_answers_with_the_checklist_and_the_actions(client, commander, orders_db):
    window = plan(commander, orders_db)
    client.force_login(commander)
    for item in window.checklist.filter(phase=Phase.PRE):
        response = client.post(
            reverse("maintenance:item_set", args=[window.pk, item.pk]),
            {"done": "true"},
            headers={"HX-Request": "true"},
        )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card mw-checklist" id="checklist"')
    assert 'id="window-actions" hx-swap-oob="true"' in html
    assert "Blocked:" not in html  # every required pre item is done now
    assert "<html" not in html


def test_ticking_in_a_finished_window_is_refused(client, commander, orders_db):
    window = plan(commander, orders_db)
    item = window.checklist.first()
    services.window_cancel(window=window, by=commander)
    client.force_login(commander)
    url = reverse("maintenance:item_set", args=[window.pk, item.pk])
    response = client.post(url, {"done": "true"})
    assert response.status_code == 409
    assert "is cancelled" in response.content.decode()
    htmx = client.post(url, {"done": "true"}, headers={"HX-Request": "true"})
    assert htmx.status_code == 409 and htmx["HX-Refresh"] == "true"


def test_adding_an_item(client, commander, orders_db):
    window = plan(commander, orders_db)
    client.force_login(commander)
    url = reverse("maintenance:item_add", args=[window.pk])
    response = client.post(url, {"phase": "post", "title": "Check replicas", "required": "on"})
    item = ChecklistItem.objects.get(title="Check replicas")
    assert response["Location"].endswith(f"#item-{item.pk}")
    assert item.phase == Phase.POST and item.required and item.window == window
    assert client.post(url, {"phase": "post", "title": ""}).status_code == 400
    assert client.post(url, {"phase": "procedure", "title": "x"}).status_code == 400


def test_notes_need_text_and_render_sanitized(client, responder, commander, orders_db):
    window = plan(commander, orders_db)
    client.force_login(responder)
    url = reverse("maintenance:note", args=[window.pk])
    assert client.post(url, {"body": ""}).status_code == 400
    response = client.post(url, {"body": "Replica *lag* 3 s <script>x()</script>"})
    event = WindowEvent.objects.get(window=window, kind=WindowEventKind.NOTE)
    assert response["Location"].endswith(f"#event-{event.seq}")
    html = client.get(reverse("maintenance:detail", args=[window.pk])).content.decode()
    assert "<em>lag</em>" in html and "<script>x()" not in html


# --- Starting: the checklist gate and the admin override --------------------------------------


def test_start_blocked_by_open_required_items_lists_them(client, commander, orders_db):
    window = plan(commander, orders_db)
    client.force_login(commander)
    page = client.get(reverse("maintenance:detail", args=[window.pk])).content.decode()
    assert "Blocked: 2 required “Before” items open" in page
    assert "Override reason" not in page  # commanders cannot override
    response = client.post(reverse("maintenance:start", args=[window.pk]))
    assert response.status_code == 409
    html = response.content.decode()
    assert "Cannot start: 2 required item(s) still open." in html
    for item in window.checklist.filter(phase=Phase.PRE, required=True):
        assert f'<li><a href="#item-{item.pk}">{item.title}</a></li>' in html
    window.refresh_from_db()
    assert window.state == WindowState.SCHEDULED


def test_a_commander_cannot_override(client, commander, orders_db):
    window = plan(commander, orders_db)
    client.force_login(commander)
    response = client.post(
        reverse("maintenance:start", args=[window.pk]), {"override_reason": "trust me"}
    )
    assert response.status_code == 403
    assert "Only an admin can override" in response.content.decode()
    window.refresh_from_db()
    assert window.state == WindowState.SCHEDULED


def test_admin_override_is_recorded(client, admin_user, commander, orders_db):
    window = plan(commander, orders_db)
    client.force_login(admin_user)
    page = client.get(reverse("maintenance:detail", args=[window.pk])).content.decode()
    assert "Override reason" in page
    response = client.post(
        reverse("maintenance:start", args=[window.pk]),
        {"override_reason": "Security patch, CVE published today"},
    )
    assert response.status_code == 302
    window.refresh_from_db()
    assert window.state == WindowState.IN_PROGRESS
    override = window.events.get(kind=WindowEventKind.OVERRIDE)
    assert override.author == admin_user
    assert override.data["reason"] == "Security patch, CVE published today"
    html = client.get(reverse("maintenance:detail", args=[window.pk])).content.decode()
    assert "Security patch, CVE published today" in html


def test_start_without_rollback_plan_points_to_the_edit_form(client, commander, orders_db):
    window = plan(commander, orders_db, rollback_plan="")
    tick_all(window, commander, Phase.PRE)
    client.force_login(commander)
    response = client.post(reverse("maintenance:start", args=[window.pk]))
    assert response.status_code == 409
    html = response.content.decode()
    assert "Write the rollback plan before starting." in html
    assert reverse("maintenance:edit", args=[window.pk]) + "#id_rollback_plan" in html


def test_cancel_needs_a_reason(client, commander, orders_db):
    window = plan(commander, orders_db)
    client.force_login(commander)
    url = reverse("maintenance:cancel", args=[window.pk])
    assert client.post(url, {"reason": ""}).status_code == 400
    assert client.post(url, {"reason": "Vendor postponed"}).status_code == 302
    window.refresh_from_db()
    assert window.state == WindowState.CANCELLED


# --- Completing: the health snapshots ---------------------------------------------------------


@pytest.fixture
def health_server():
    """A local HTTP server whose health answer the test switches between healthy and broken."""
    state = {"status": 200, "body": {"status": "ok", "checks": {"database": {"status": "ok"}}}}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps(state["body"]).encode()
            self.send_response(state["status"])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    state["url"] = f"http://127.0.0.1:{httpd.server_address[1]}/health"
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def test_a_worse_after_snapshot_needs_acknowledging(
    client, commander, orders_db, health_server, settings, django_capture_on_commit_callbacks
):
    settings.DIAGNOSTICS_RUN_INLINE = True
    Target.objects.create(
        service=orders_db,
        name="api",
        kind="http",
        config=validate_target_config("http", {"url": health_server["url"]}),
    )
    window = plan(commander, orders_db)
    tick_all(window, commander, Phase.PRE)
    tick_all(window, commander, Phase.POST)
    client.force_login(commander)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("maintenance:start", args=[window.pk]))
    health_server["status"] = 503
    health_server["body"] = {"status": "down", "checks": {"database": {"status": "down"}}}
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("maintenance:verify", args=[window.pk]))

    url = reverse("maintenance:detail", args=[window.pk])
    page = client.get(url).content.decode()
    assert "Health before and after" in page and "▼ worse" in page
    assert "I acknowledge the regression" in page

    refused = client.post(reverse("maintenance:complete", args=[window.pk]))
    assert refused.status_code == 409
    assert "acknowledge it to complete" in refused.content.decode()
    done = client.post(
        reverse("maintenance:complete", args=[window.pk]), {"acknowledge_regression": "on"}
    )
    assert done.status_code == 302
    window.refresh_from_db()
    assert window.state == WindowState.COMPLETED
    assert window.regression_acknowledged_by == commander
    assert "Regression acknowledged by" in client.get(url).content.decode()
