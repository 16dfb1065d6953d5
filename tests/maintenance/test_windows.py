"""The window state machine, checklist gates, overrides, component statuses and the log."""

from __future__ import annotations

import pytest

from accounts.permissions import Role
from catalog.models import ComponentStatus
from maintenance import services
from maintenance.errors import MaintenanceError
from maintenance.models import MaintenanceWindow, Phase, WindowEventKind, WindowState
from tests.factories import ServiceFactory

from .support import HOUR, T0, plan, small_template, tick_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def commander(make_user):
    return make_user(Role.COMMANDER)


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN)


@pytest.fixture
def db_service(db):
    return ServiceFactory(slug="orders-db", name="Orders DB")


def refused(code, fn, **kwargs) -> MaintenanceError:
    with pytest.raises(MaintenanceError) as caught:
        fn(**kwargs)
    assert caught.value.code == code, caught.value
    return caught.value


def test_a_window_gets_its_own_copy_of_the_checklist(commander, db_service):
    template = small_template()
    window = plan(commander, [db_service], template=template)
    template.items.update(title="changed later")
    assert [i.title for i in window.checklist.order_by("phase", "position")] == [
        "Monitor health",
        "Verify end to end",
        "Notify stakeholders",
        "Back up critical data",
    ]
    assert window.owner == commander and window.state == WindowState.SCHEDULED


def test_the_end_must_come_after_the_start(commander, db_service):
    refused(
        "invalid_times",
        services.window_create,
        title="x",
        services=[db_service],
        scheduled_start=T0,
        scheduled_end=T0,
        by=commander,
    )


def test_an_overlapping_window_for_the_same_service_needs_confirmation(commander, db_service):
    first = plan(commander, [db_service])
    error = refused(
        "overlap",
        plan,
        by=commander,
        services_=[db_service],
        start=T0 + HOUR,
    )
    assert [w["id"] for w in error.extra["windows"]] == [first.pk]
    second = plan(commander, [db_service], start=T0 + HOUR, confirm_overlap=True)
    assert second.events.get(kind=WindowEventKind.CREATED).data["overlap_confirmed"] is True
    # Other services, adjacent times and finished windows do not clash.
    plan(commander, [ServiceFactory()], start=T0)
    plan(commander, [db_service], start=T0 + 3 * HOUR, hours=1)


def test_illegal_moves_name_the_allowed_ones(commander, db_service):
    window = plan(commander, [db_service])
    error = refused("illegal_transition", services.window_verify, window=window, by=commander)
    assert error.extra["allowed"] == ["in_progress", "cancelled"]
    refused("illegal_transition", services.window_complete, window=window, by=commander)


def test_start_is_blocked_while_required_pre_items_are_open(commander, db_service):
    window = plan(commander, [db_service])
    services.checklist_item_set(
        item=window.checklist.get(title="Notify stakeholders"), done=True, by=commander
    )
    error = refused("checklist_open", services.window_start, window=window, by=commander)
    assert [i["title"] for i in error.extra["items"]] == ["Back up critical data"]
    window.refresh_from_db()
    assert window.state == WindowState.SCHEDULED and window.started_at is None


def test_only_an_admin_can_override_and_the_override_is_recorded(commander, admin, db_service):
    window = plan(commander, [db_service])
    refused(
        "override_forbidden",
        services.window_start,
        window=window,
        by=commander,
        override_reason="urgent",
    )
    services.window_start(window=window, by=admin, override_reason="Security patch, CVE today")
    window.refresh_from_db()
    assert window.state == WindowState.IN_PROGRESS
    override = window.events.get(kind=WindowEventKind.OVERRIDE)
    assert override.author == admin and "CVE today" in override.body
    assert len(override.data["items"]) == 2 and override.data["action"] == "start"


def test_a_rollback_plan_is_required_before_starting(commander, db_service):
    window = plan(commander, [db_service], rollback_plan="")
    tick_all(window, commander, Phase.PRE)
    refused("rollback_plan_required", services.window_start, window=window, by=commander)


def test_checked_items_record_who_and_when(commander, db_service):
    window = plan(commander, [db_service])
    item = window.checklist.get(title="Back up critical data")
    services.checklist_item_set(item=item, done=True, by=commander, note="pg_dump at 21:40")
    item.refresh_from_db()
    assert item.done_by == commander and item.done_at is not None
    assert item.note == "pg_dump at 21:40"
    services.checklist_item_set(item=item, done=False, by=commander)
    item.refresh_from_db()
    assert item.done_at is None and item.done_by is None
    kinds = list(
        window.events.filter(kind=WindowEventKind.CHECKLIST).values_list("data", flat=True)
    )
    assert [k["done"] for k in kinds] == [True, False]


def test_the_full_lifecycle_puts_components_under_maintenance_and_back(commander, db_service):
    other = ServiceFactory(status=ComponentStatus.DEGRADED_PERFORMANCE)
    window = plan(commander, [db_service, other])
    tick_all(window, commander, Phase.PRE)
    services.window_start(window=window, by=commander, now=T0)
    db_service.refresh_from_db()
    other.refresh_from_db()
    assert db_service.status == other.status == ComponentStatus.UNDER_MAINTENANCE

    services.window_verify(window=window, by=commander, now=T0 + HOUR)
    refused("checklist_open", services.window_complete, window=window, by=commander)
    tick_all(window, commander, Phase.POST)
    services.window_complete(window=window, by=commander, now=T0 + 2 * HOUR)

    window.refresh_from_db()
    db_service.refresh_from_db()
    other.refresh_from_db()
    assert window.state == WindowState.COMPLETED and window.completed_at == T0 + 2 * HOUR
    assert db_service.status == ComponentStatus.OPERATIONAL
    assert other.status == ComponentStatus.DEGRADED_PERFORMANCE  # what it was before
    states = [
        e.data["to"]
        for e in window.events.filter(kind=WindowEventKind.STATE_CHANGE, data__to__gt="")
    ]
    assert states == ["in_progress", "verifying", "completed"]


def test_a_status_changed_during_the_window_or_held_by_another_window_is_kept(
    commander, db_service
):
    shared = ServiceFactory()
    first = plan(commander, [db_service, shared])
    second = plan(commander, [shared], start=T0, confirm_overlap=True)
    for window in (first, second):
        tick_all(window, commander, Phase.PRE)
        services.window_start(window=window, by=commander)
    db_service.status = ComponentStatus.MAJOR_OUTAGE  # an incident update mid-window
    db_service.save()
    services.window_verify(window=first, by=commander)
    tick_all(first, commander, Phase.POST)
    services.window_complete(window=first, by=commander)
    db_service.refresh_from_db()
    shared.refresh_from_db()
    assert db_service.status == ComponentStatus.MAJOR_OUTAGE
    assert shared.status == ComponentStatus.UNDER_MAINTENANCE  # the second window still runs


def test_only_scheduled_windows_can_be_cancelled(commander, db_service):
    window = plan(commander, [db_service])
    services.window_cancel(window=window, by=commander, reason="Vendor postponed")
    window.refresh_from_db()
    assert window.state == WindowState.CANCELLED and window.cancelled_at
    refused("illegal_transition", services.window_start, window=window, by=commander)
    refused("finished", services.note_add, window=window, body="late", by=commander)


def test_extending_moves_the_end_later_only(commander, db_service):
    window = plan(commander, [db_service])
    refused(
        "invalid_times",
        services.window_extend,
        window=window,
        scheduled_end=window.scheduled_end - HOUR,
        by=commander,
    )
    services.window_extend(
        window=window, scheduled_end=T0 + 4 * HOUR, by=commander, reason="Migration slow"
    )
    window.refresh_from_db()
    assert window.scheduled_end == T0 + 4 * HOUR
    extended = window.events.filter(kind=WindowEventKind.EXTENDED)
    assert {e.visibility for e in extended} == {"internal", "public"}


def test_times_and_services_are_locked_once_the_window_started(commander, db_service):
    window = plan(commander, [db_service])
    tick_all(window, commander, Phase.PRE)
    services.window_start(window=window, by=commander)
    refused(
        "illegal_transition",
        services.window_update,
        window=window,
        by=commander,
        scheduled_start=T0 + HOUR,
    )
    services.window_update(window=window, by=commander, rollback_plan="New plan")
    window.refresh_from_db()
    assert window.rollback_plan == "New plan"


def test_public_windows_log_statuspage_updates_internal_ones_do_not(commander, db_service):
    public = plan(commander, [db_service])
    internal = plan(commander, [ServiceFactory()], public=False)
    for window in (public, internal):
        tick_all(window, commander, Phase.PRE)
        services.window_start(window=window, by=commander)
    assert list(public.events.public().values_list("data__status", flat=True)) == [
        "scheduled",
        "in_progress",
    ]
    assert not internal.events.public().exists()


def test_the_log_is_contiguous(commander, db_service):
    window = plan(commander, [db_service])
    tick_all(window, commander, Phase.PRE)
    services.note_add(window=window, body="Starting soon", by=commander)
    services.window_start(window=window, by=commander)
    seqs = list(MaintenanceWindow.objects.get(pk=window.pk).events.values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    window.refresh_from_db()
    assert window.last_seq == len(seqs)


def test_check_timeline_covers_window_logs(commander, db_service):
    import io

    from django.core.management import CommandError, call_command

    window = plan(commander, [db_service])
    services.note_add(window=window, body="one", by=commander)
    call_command("check_timeline", stdout=io.StringIO())
    window.events.filter(seq=1).update(seq=7)
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("check_timeline", stdout=out)
    # created, the public "scheduled" update, the note: 1..3 with 1 moved to 7.
    assert f"MW-{window.pk}: missing [1, 4, 5, 6]" in out.getvalue()


def test_an_internal_window_leaves_the_public_component_status_alone(commander, db_service):
    window = plan(commander, [db_service], public=False)
    tick_all(window, commander, Phase.PRE)
    window = services.window_start(window=window, by=commander)
    db_service.refresh_from_db()
    assert db_service.status == ComponentStatus.OPERATIONAL
    assert services.service_in_maintenance(service=db_service, at=window.started_at)
    services.window_verify(window=window, by=commander)
    tick_all(window, commander, Phase.POST)
    services.window_complete(window=window, by=commander)
    db_service.refresh_from_db()
    assert db_service.status == ComponentStatus.OPERATIONAL
