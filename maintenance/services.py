"""Every write to maintenance windows: planning, the checklist, the state machine, notices.

State machine: scheduled → in_progress → verifying → completed, or scheduled → cancelled.
Each function runs in one transaction and logs what it did on the window's log; public windows
also get public log entries (Statuspage-style updates) that the status page shows. Start, end
and cancellation notices (notices.py) go to the outbox in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.permissions import Perm, user_has_perm
from catalog.models import ComponentStatus, Service
from catalog.services import service_set_status
from ops_portal.timeline import Visibility

from . import notices, snapshots
from .errors import MaintenanceError
from .log import window_event_append
from .models import (
    ACTIVE_STATES,
    FINISHED_STATES,
    ChecklistItem,
    ChecklistKind,
    ChecklistTemplate,
    MaintenanceWindow,
    NoticeKind,
    Phase,
    WindowEventKind,
    WindowState,
)

TRANSITIONS = {
    WindowState.SCHEDULED: (WindowState.IN_PROGRESS, WindowState.CANCELLED),
    WindowState.IN_PROGRESS: (WindowState.VERIFYING,),
    WindowState.VERIFYING: (WindowState.COMPLETED,),
    WindowState.COMPLETED: (),
    WindowState.CANCELLED: (),
}

# Statuspage's wording for maintenance updates, so subscribers read what they are used to.
PUBLIC_TEXT = {
    WindowState.IN_PROGRESS: "Scheduled maintenance is currently in progress. We will provide "
    "updates as necessary.",
    WindowState.VERIFYING: "Verification is currently underway for the maintenance items.",
    WindowState.COMPLETED: "The scheduled maintenance has been completed.",
    WindowState.CANCELLED: "This scheduled maintenance has been cancelled.",
}

EDITABLE_WHILE_SCHEDULED = (
    "title",
    "description",
    "services",
    "scheduled_start",
    "scheduled_end",
    "owner",
    "rollback_plan",
    "public",
)
EDITABLE_WHILE_ACTIVE = ("description", "owner", "rollback_plan", "public")


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _scheduled_text(window: MaintenanceWindow) -> str:
    return (
        f"Maintenance is scheduled from {_utc(window.scheduled_start)} to "
        f"{_utc(window.scheduled_end)}."
    )


def _public_event(window: MaintenanceWindow, body: str, by, now, *, kind=None) -> None:
    """A public update (Statuspage `incident_update`); internal windows get none."""
    if not window.public:
        return
    window_event_append(
        window_id=window.pk,
        kind=kind or WindowEventKind.STATE_CHANGE,
        body=body,
        data={"status": window.state},
        visibility=Visibility.PUBLIC,
        author=by,
        now=now,
    )


def _lock(window: MaintenanceWindow) -> MaintenanceWindow:
    """Re-read the window under a row lock: two people pressing Start at once act once."""
    return MaintenanceWindow.objects.select_for_update().get(pk=window.pk)


# --- Planning ---------------------------------------------------------------------------------


def _check_times(start: datetime, end: datetime) -> None:
    if start is None or end is None:
        raise MaintenanceError("A window needs a start and an end.", code="invalid_times")
    if end <= start:
        raise MaintenanceError("The end must be after the start.", code="invalid_times")


def overlapping_windows(
    *, services: Iterable[Service], start: datetime, end: datetime, exclude_id: int | None = None
) -> list[MaintenanceWindow]:
    """Unfinished windows of any of the services whose time range meets [start, end)."""
    query = (
        MaintenanceWindow.objects.exclude(state__in=FINISHED_STATES)
        .filter(services__in=list(services), scheduled_start__lt=end, scheduled_end__gt=start)
        .distinct()
        .order_by("scheduled_start", "id")
    )
    if exclude_id is not None:
        query = query.exclude(pk=exclude_id)
    return list(query)


def _check_overlap(services, start, end, *, exclude_id=None, confirmed: bool) -> None:
    if confirmed:
        return
    clashes = overlapping_windows(services=services, start=start, end=end, exclude_id=exclude_id)
    if clashes:
        raise MaintenanceError(
            "Another maintenance window covers some of these services at that time; "
            "confirm to plan both.",
            code="overlap",
            extra={
                "windows": [
                    {
                        "id": clash.pk,
                        "ref": clash.ref,
                        "title": clash.title,
                        "start": clash.scheduled_start.isoformat(),
                        "end": clash.scheduled_end.isoformat(),
                    }
                    for clash in clashes
                ]
            },
        )


def default_template() -> ChecklistTemplate | None:
    return ChecklistTemplate.objects.filter(
        kind=ChecklistKind.MAINTENANCE, is_default=True, active=True
    ).first()


def _copy_checklist(window: MaintenanceWindow, template: ChecklistTemplate | None) -> int:
    if template is None:
        return 0
    if template.kind != ChecklistKind.MAINTENANCE:
        raise MaintenanceError(
            f"{template.name} is a recovery procedure, not a maintenance checklist.",
            code="invalid_template",
        )
    items = [
        ChecklistItem(
            window=window,
            phase=item.phase,
            title=item.title,
            description=item.description,
            required=item.required,
            position=item.position,
        )
        for item in template.items.exclude(phase=Phase.PROCEDURE)
    ]
    ChecklistItem.objects.bulk_create(items)
    return len(items)


@transaction.atomic
def window_create(
    *,
    title: str,
    services: Iterable[Service],
    scheduled_start: datetime,
    scheduled_end: datetime,
    by,
    description: str = "",
    owner=None,
    rollback_plan: str = "",
    public: bool = True,
    template: ChecklistTemplate | None = None,
    confirm_overlap: bool = False,
    now: datetime | None = None,
) -> MaintenanceWindow:
    """Plan a window and give it its own copy of the checklist (the default one unless given)."""
    now = now or timezone.now()
    services = list(services)
    if not title.strip():
        raise MaintenanceError("A window needs a title.", code="invalid")
    if not services:
        raise MaintenanceError("Name at least one affected service.", code="invalid_services")
    _check_times(scheduled_start, scheduled_end)
    _check_overlap(services, scheduled_start, scheduled_end, confirmed=confirm_overlap)
    window = MaintenanceWindow.objects.create(
        title=title.strip(),
        description=description,
        scheduled_start=scheduled_start,
        scheduled_end=scheduled_end,
        owner=owner or by,
        rollback_plan=rollback_plan,
        public=public,
        created_by=by,
        created_at=now,
    )
    window.services.set(services)
    template = template or default_template()
    copied = _copy_checklist(window, template)
    window_event_append(
        window_id=window.pk,
        kind=WindowEventKind.CREATED,
        body=f"Planned for {', '.join(s.name for s in services)}: {_scheduled_text(window)}",
        data={
            "services": [s.pk for s in services],
            "checklist_template": template.slug if template else None,
            "checklist_items": copied,
            "overlap_confirmed": bool(confirm_overlap),
        },
        author=by,
        now=now,
    )
    _public_event(window, _scheduled_text(window), by, now)
    return window


@transaction.atomic
def window_update(
    *, window: MaintenanceWindow, by, confirm_overlap: bool = False, now=None, **changes
) -> MaintenanceWindow:
    """Edit a window: anything while scheduled; only the texts, owner and visibility once it
    has started (times change through `window_extend`, services never change mid-window)."""
    now = now or timezone.now()
    window = _lock(window)
    if window.is_finished:
        raise MaintenanceError(f"{window.ref} is {window.state}.", code="finished")
    allowed = EDITABLE_WHILE_ACTIVE if window.is_active else EDITABLE_WHILE_SCHEDULED
    unknown = set(changes) - set(EDITABLE_WHILE_SCHEDULED)
    if unknown:
        raise MaintenanceError(f"Unknown fields: {', '.join(sorted(unknown))}.", code="invalid")
    locked = set(changes) - set(allowed)
    if locked:
        raise MaintenanceError(
            f"{', '.join(sorted(locked))} cannot change once the window has started.",
            code="illegal_transition",
            extra={"allowed": []},
        )
    services = list(changes.pop("services")) if "services" in changes else None
    changed = []
    for field, value in changes.items():
        if getattr(window, field) != value:
            setattr(window, field, value)
            changed.append(field)
    if services is not None and set(services) != set(window.services.all()):
        if not services:
            raise MaintenanceError("Name at least one affected service.", code="invalid_services")
        changed.append("services")
    if not changed:
        return window
    if {"scheduled_start", "scheduled_end", "services"} & set(changed):
        _check_times(window.scheduled_start, window.scheduled_end)
        _check_overlap(
            services if services is not None else window.services.all(),
            window.scheduled_start,
            window.scheduled_end,
            exclude_id=window.pk,
            confirmed=confirm_overlap,
        )
    window.save()
    if services is not None and "services" in changed:
        window.services.set(services)
    window_event_append(
        window_id=window.pk,
        kind=WindowEventKind.EDITED,
        body=f"Changed {', '.join(changed)}.",
        data={"fields": changed},
        author=by,
        now=now,
    )
    if {"scheduled_start", "scheduled_end"} & set(changed) or (
        "public" in changed and window.public
    ):
        _public_event(window, _scheduled_text(window), by, now)
    return window


@transaction.atomic
def window_extend(
    *, window: MaintenanceWindow, scheduled_end: datetime, by, reason: str = "", now=None
) -> MaintenanceWindow:
    """Move the end later (a window running long); logged, and public windows say so."""
    now = now or timezone.now()
    window = _lock(window)
    if window.is_finished:
        raise MaintenanceError(f"{window.ref} is {window.state}.", code="finished")
    if scheduled_end <= window.scheduled_end:
        raise MaintenanceError(
            f"An extension ends after the current end ({_utc(window.scheduled_end)}).",
            code="invalid_times",
        )
    previous = window.scheduled_end
    window.scheduled_end = scheduled_end
    window.save(update_fields=["scheduled_end", "updated_at"])
    window_event_append(
        window_id=window.pk,
        kind=WindowEventKind.EXTENDED,
        body=f"Extended to {_utc(scheduled_end)}" + (f": {reason}" if reason else "."),
        data={"from": previous.isoformat(), "to": scheduled_end.isoformat(), "reason": reason},
        author=by,
        now=now,
    )
    _public_event(
        window,
        f"The maintenance has been extended until {_utc(scheduled_end)}.",
        by,
        now,
        kind=WindowEventKind.EXTENDED,
    )
    return window


# --- Checklist --------------------------------------------------------------------------------


@transaction.atomic
def checklist_item_set(
    *, item: ChecklistItem, done: bool, by, note: str = "", now=None
) -> ChecklistItem:
    """Tick or untick an item; who and when are recorded on the item and in the log."""
    now = now or timezone.now()
    item = ChecklistItem.objects.select_for_update().select_related("window").get(pk=item.pk)
    if item.window.is_finished:
        raise MaintenanceError(f"{item.window.ref} is {item.window.state}.", code="finished")
    if item.done == done and (not note or note == item.note):
        return item
    item.done_at = now if done else None
    item.done_by = by if done else None
    if note:
        item.note = note[:500]
    item.save(update_fields=["done_at", "done_by", "note"])
    window_event_append(
        window_id=item.window_id,
        kind=WindowEventKind.CHECKLIST,
        body=f"{'✓' if done else '↺'} {item.get_phase_display()}: {item.title}"
        + (f" — {note}" if note else ""),
        data={"item_id": item.pk, "phase": item.phase, "done": done, "note": note},
        author=by,
        now=now,
    )
    return item


@transaction.atomic
def checklist_item_add(
    *,
    window: MaintenanceWindow,
    phase: str,
    title: str,
    by,
    required: bool = False,
    description: str = "",
    now=None,
) -> ChecklistItem:
    now = now or timezone.now()
    window = _lock(window)
    if window.is_finished:
        raise MaintenanceError(f"{window.ref} is {window.state}.", code="finished")
    if phase not in (Phase.PRE, Phase.DURING, Phase.POST):
        raise MaintenanceError("Phase must be pre, during or post.", code="invalid")
    if not title.strip():
        raise MaintenanceError("An item needs a title.", code="invalid")
    last = window.checklist.filter(phase=phase).order_by("-position").first()
    item = ChecklistItem.objects.create(
        window=window,
        phase=phase,
        title=title.strip()[:200],
        description=description,
        required=required,
        position=(last.position + 1) if last else 0,
    )
    window_event_append(
        window_id=window.pk,
        kind=WindowEventKind.CHECKLIST,
        body=f"Added {item.get_phase_display().lower()} item: {item.title}"
        + (" (required)" if required else ""),
        data={"item_id": item.pk, "phase": phase, "added": True, "required": required},
        author=by,
        now=now,
    )
    return item


def _open_required(window: MaintenanceWindow, phase: str) -> list[ChecklistItem]:
    return list(window.checklist.filter(phase=phase, required=True, done_at__isnull=True))


def _gate_checklist(window, phase: str, *, by, override_reason: str, action: str, now) -> None:
    """Refuse while required items of `phase` are open, unless an admin overrides (logged)."""
    open_items = _open_required(window, phase)
    if not open_items:
        return
    if not override_reason.strip():
        raise MaintenanceError(
            f"Cannot {action}: {len(open_items)} required item(s) still open.",
            code="checklist_open",
            extra={"items": [{"id": i.pk, "title": i.title} for i in open_items]},
        )
    if not user_has_perm(by, Perm.MAINTENANCE_OVERRIDE):
        raise MaintenanceError(
            "Only an admin can override open required checklist items.",
            code="override_forbidden",
        )
    window_event_append(
        window_id=window.pk,
        kind=WindowEventKind.OVERRIDE,
        body=f"Override to {action} with {len(open_items)} required item(s) open: "
        f"{override_reason.strip()}",
        data={"action": action, "items": [i.pk for i in open_items], "reason": override_reason},
        author=by,
        now=now,
    )


# --- State machine ----------------------------------------------------------------------------


def _move(window: MaintenanceWindow, to: str) -> str:
    if to not in TRANSITIONS[WindowState(window.state)]:
        allowed = [str(state) for state in TRANSITIONS[WindowState(window.state)]]
        raise MaintenanceError(
            f"{window.ref} is {window.state}; it cannot move to {to}.",
            code="illegal_transition",
            extra={"allowed": allowed},
        )
    previous = window.state
    window.state = to
    return previous


def _log_state(window, previous: str, by, now, **data) -> None:
    window_event_append(
        window_id=window.pk,
        kind=WindowEventKind.STATE_CHANGE,
        body=f"{WindowState(previous).label} → {window.get_state_display()}",
        data={"from": previous, "to": window.state, **data},
        author=by,
        now=now,
    )
    _public_event(window, PUBLIC_TEXT[WindowState(window.state)], by, now)


@transaction.atomic
def window_start(
    *, window: MaintenanceWindow, by, override_reason: str = "", now=None
) -> MaintenanceWindow:
    """Start: required pre items done, a rollback plan written; alerts for the services stop
    paging, a public window's components go under maintenance and a "before" health snapshot
    runs."""
    now = now or timezone.now()
    window = _lock(window)
    previous = _move(window, WindowState.IN_PROGRESS)
    if not window.rollback_plan.strip():
        raise MaintenanceError(
            "Write the rollback plan before starting.", code="rollback_plan_required"
        )
    _gate_checklist(
        window, Phase.PRE, by=by, override_reason=override_reason, action="start", now=now
    )
    services = list(window.services.all())
    if window.public:
        # Only a public window changes what the status page says; an internal one still stops
        # its services' alerts from paging (the suppression check looks at the window itself).
        window.statuses_before = {str(s.pk): s.status for s in services}
        for service in services:
            service_set_status(service=service, status=ComponentStatus.UNDER_MAINTENANCE, now=now)
    window.started_at = now
    window.before_snapshot = snapshots.snapshot_start(window, services, "before", by=by)
    window.save()
    _log_state(window, previous, by, now, before_snapshot=window.before_snapshot_id)
    notices.notify(window, NoticeKind.START, window.started_at, now=now)
    return window


@transaction.atomic
def window_verify(*, window: MaintenanceWindow, by, now=None) -> MaintenanceWindow:
    """The change is done: run the "after" health snapshot while the team verifies."""
    now = now or timezone.now()
    window = _lock(window)
    previous = _move(window, WindowState.VERIFYING)
    window.verifying_at = now
    window.after_snapshot = snapshots.snapshot_start(
        window, list(window.services.all()), "after", by=by
    )
    window.save()
    _log_state(window, previous, by, now, after_snapshot=window.after_snapshot_id)
    return window


@transaction.atomic
def window_complete(
    *,
    window: MaintenanceWindow,
    by,
    override_reason: str = "",
    acknowledge_regression: bool = False,
    now=None,
) -> MaintenanceWindow:
    """Complete: required post items done and the "after" snapshot no worse than "before"
    (or the regression acknowledged); components get their statuses back."""
    now = now or timezone.now()
    window = _lock(window)
    previous = _move(window, WindowState.COMPLETED)
    comparison = snapshots.compare(window.before_snapshot, window.after_snapshot)
    if not comparison.finished and not override_reason.strip():
        raise MaintenanceError(
            "The after-maintenance health snapshot is still running.", code="snapshot_pending"
        )
    _gate_checklist(
        window, Phase.POST, by=by, override_reason=override_reason, action="complete", now=now
    )
    if comparison.worse:
        if not acknowledge_regression:
            raise MaintenanceError(
                "Health is worse after the maintenance than before; acknowledge it to complete.",
                code="regression_unacknowledged",
                extra={"worse": [row.as_dict() for row in comparison.worse]},
            )
        window.regression_acknowledged_by = by
        window.regression_acknowledged_at = now
        window_event_append(
            window_id=window.pk,
            kind=WindowEventKind.SNAPSHOT,
            body=f"Regression acknowledged: {comparison.summary}",
            data={"acknowledged": True, "worse": [row.as_dict() for row in comparison.worse]},
            author=by,
            now=now,
        )
    window.completed_at = now
    window.save()
    _restore_statuses(window, now=now)
    _log_state(window, previous, by, now)
    notices.notify(window, NoticeKind.END, window.completed_at, now=now)
    return window


@transaction.atomic
def window_cancel(*, window: MaintenanceWindow, by, reason: str = "", now=None):
    """Cancel a window that has not started; anyone already told gets a cancellation."""
    now = now or timezone.now()
    window = _lock(window)
    previous = _move(window, WindowState.CANCELLED)
    window.cancelled_at = now
    window.save()
    _log_state(window, previous, by, now, reason=reason)
    if window.notices.filter(kind=NoticeKind.ADVANCE).exists():
        notices.notify(window, NoticeKind.CANCELLED, window.scheduled_start, now=now)
    return window


def _restore_statuses(window: MaintenanceWindow, *, now: datetime) -> None:
    """Give each service back the status it had, unless something else changed it meanwhile
    (an incident update) or another window still holds it under maintenance."""
    if not window.statuses_before:
        return  # an internal window never changed them
    still_held = set(
        MaintenanceWindow.objects.filter(state__in=ACTIVE_STATES, public=True)
        .exclude(pk=window.pk)
        .values_list("services", flat=True)
    )
    for service in window.services.all():
        if service.status != ComponentStatus.UNDER_MAINTENANCE or service.pk in still_held:
            continue
        before = window.statuses_before.get(str(service.pk), ComponentStatus.OPERATIONAL)
        if before == ComponentStatus.UNDER_MAINTENANCE:
            before = ComponentStatus.OPERATIONAL
        service_set_status(service=service, status=before, now=now)


@transaction.atomic
def note_add(*, window: MaintenanceWindow, body: str, by, now=None):
    if not body.strip():
        raise MaintenanceError("A note needs text.", code="invalid")
    if window.is_finished:
        raise MaintenanceError(f"{window.ref} is {window.state}.", code="finished")
    return window_event_append(
        window_id=window.pk, kind=WindowEventKind.NOTE, body=body.strip(), author=by, now=now
    )


# --- Alerts -----------------------------------------------------------------------------------


def service_in_maintenance(*, service: Service, at: datetime) -> bool:
    """Was a window running for the service at `at`? (alerts' suppression check)."""
    return (
        MaintenanceWindow.objects.filter(services=service, started_at__lte=at)
        .exclude(state__in=(WindowState.SCHEDULED, WindowState.CANCELLED))
        .filter(Q(completed_at__isnull=True) | Q(completed_at__gt=at))
        .exists()
    )
