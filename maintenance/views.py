"""Maintenance window pages: the list and month calendar, the plan/edit forms, the window page
with its checklist, health snapshots and log, and the POST actions behind its buttons.

Reading needs MAINTENANCE_READ (every role); ticking and adding checklist items and adding notes
needs MAINTENANCE_WORK (responders, as in the API); planning, editing, starting, verifying,
completing, extending and cancelling need MAINTENANCE_MANAGE (commanders); only admins hold
MAINTENANCE_OVERRIDE, which the services check themselves when an override reason is given.

Every action is a plain POST through maintenance.services that redirects back on success, so
the pages work without JavaScript (checklist ticks also answer htmx with a partial). A
`MaintenanceError` re-renders the window page with the message and its details (open items,
allowed moves, regressions) and the error's HTTP status (409/400/403), never a server error.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import Perm, require_perm, user_has_perm
from catalog.models import Target, TargetKind

from . import selectors, services
from .calendar_grid import Month, month_grid
from .errors import MaintenanceError
from .forms import (
    CancelForm,
    CompleteForm,
    ExtendForm,
    FilterForm,
    ItemAddForm,
    ItemSetForm,
    NoteForm,
    StartForm,
    WindowForm,
)
from .models import ChecklistItem, MaintenanceWindow, Phase, WindowState
from .snapshots import snapshot_comparison

PAST_PAGE_SIZE = 20
CHECKLIST_PHASES = (Phase.PRE, Phase.DURING, Phase.POST)


def _window(pk: int) -> MaintenanceWindow:
    try:
        return selectors.window_detail(pk)
    except MaintenanceWindow.DoesNotExist:
        raise Http404("No such maintenance window.") from None


def _detail_url(window: MaintenanceWindow) -> str:
    return reverse("maintenance:detail", args=[window.pk])


# --- List and calendar ------------------------------------------------------------------------


@require_GET
@require_perm(Perm.MAINTENANCE_READ)
def window_list(request):
    """In progress, upcoming and past windows, or the month calendar (`?view=calendar`)."""
    filters = FilterForm(request.GET)
    valid = filters.is_valid()
    data = filters.cleaned_data if valid else {}
    windows = selectors.windows_for_listing()
    service = data.get("service")
    if service is not None:
        windows = windows.for_service(service.pk)
    now = timezone.now()
    context = {
        "filters": filters,
        "service": service,
        "now": now,
        "can_manage": user_has_perm(request.user, Perm.MAINTENANCE_MANAGE),
    }
    status = 200 if valid else 400
    if request.GET.get("view") == "calendar":
        month = Month(*data["month"]) if data.get("month") else Month.containing(now)
        start, end = month.bounds()
        shown = windows.filter(scheduled_start__lt=end, scheduled_end__gt=start)
        context.update(
            month=month,
            weeks=month_grid(month, shown, today=now.date()),
        )
        return render(request, "maintenance/calendar.html", context, status=status)
    past = windows.past().order_by("-scheduled_start", "-id")
    context.update(
        active=list(windows.active().order_by("scheduled_start", "id")),
        upcoming=list(windows.upcoming().order_by("scheduled_start", "id")),
        past=Paginator(past, PAST_PAGE_SIZE).get_page(request.GET.get("page")),
        querystring=_without_page(request),
    )
    return render(request, "maintenance/list.html", context, status=status)


def _without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


# --- Plan and edit ----------------------------------------------------------------------------


def _overlaps(exc: MaintenanceError) -> list[dict]:
    """The clashing windows of an `overlap` error, with times parsed for the template."""
    return [
        {
            **clash,
            "start": datetime.fromisoformat(clash["start"]),
            "end": datetime.fromisoformat(clash["end"]),
        }
        for clash in exc.extra.get("windows", [])
    ]


FIELD_OF_ERROR = {"invalid_times": "scheduled_end", "invalid_services": "services"}


def _form_error(form: WindowForm, exc: MaintenanceError) -> list[dict]:
    """Put a service error on the form; returns the overlapping windows for `overlap`."""
    if exc.code == "overlap":
        return _overlaps(exc)
    field = FIELD_OF_ERROR.get(exc.code)
    form.add_error(field if field in form.fields else None, exc.message)
    return []


def _form_page(request, form: WindowForm, window=None, *, overlaps=(), status=200):
    context = {"form": form, "window": window, "overlaps": overlaps, "now": timezone.now()}
    return render(request, "maintenance/form.html", context, status=status)


@require_http_methods(["GET", "POST"])
@require_perm(Perm.MAINTENANCE_MANAGE)
def window_new(request):
    form = WindowForm(request.POST or None, user=request.user)
    if request.method == "GET":
        return _form_page(request, form)
    if not form.is_valid():
        return _form_page(request, form, status=400)
    data = form.cleaned_data
    try:
        window = services.window_create(
            title=data["title"],
            description=data["description"],
            services=data["services"],
            scheduled_start=data["scheduled_start"],
            scheduled_end=data["scheduled_end"],
            owner=data["owner"],
            rollback_plan=data["rollback_plan"],
            public=data["public"],
            template=data["template"],
            confirm_overlap=data["confirm_overlap"],
            by=request.user,
        )
    except MaintenanceError as exc:
        overlaps = _form_error(form, exc)
        return _form_page(request, form, overlaps=overlaps, status=exc.http_status)
    messages.success(request, f"{window.ref} planned.")
    return redirect(_detail_url(window))


@require_http_methods(["GET", "POST"])
@require_perm(Perm.MAINTENANCE_MANAGE)
def window_edit(request, pk: int):
    window = _window(pk)
    if window.is_finished:
        messages.error(request, f"{window.ref} is {window.get_state_display().lower()}.")
        return redirect(_detail_url(window))
    form = WindowForm.for_window(window, request.POST or None)
    if request.method == "GET":
        return _form_page(request, form, window)
    if not form.is_valid():
        return _form_page(request, form, window, status=400)
    try:
        services.window_update(
            window=window,
            by=request.user,
            confirm_overlap=form.cleaned_data["confirm_overlap"],
            **form.changes(),
        )
    except MaintenanceError as exc:
        overlaps = _form_error(form, exc)
        return _form_page(request, form, window, overlaps=overlaps, status=exc.http_status)
    messages.success(request, f"{window.ref} saved.")
    return redirect(_detail_url(window))


# --- The window page --------------------------------------------------------------------------


def _phases(items: list[ChecklistItem]) -> list[dict]:
    phases = []
    for phase in CHECKLIST_PHASES:
        phase_items = [item for item in items if item.phase == phase]
        phases.append(
            {
                "value": phase.value,
                "label": phase.label,
                "items": phase_items,
                "done": sum(1 for item in phase_items if item.done),
                "total": len(phase_items),
            }
        )
    return phases


def _open_required(items: list[ChecklistItem], phase: Phase) -> list[ChecklistItem]:
    return [item for item in items if item.phase == phase and item.required and not item.done]


def _detail_context(request, window: MaintenanceWindow, **overrides) -> dict:
    user = request.user
    now = timezone.now()
    items = list(window.checklist.all())
    has_snapshots = window.before_snapshot_id or window.after_snapshot_id
    comparison = snapshot_comparison(window) if has_snapshots else None
    context = {
        "window": window,
        "now": now,
        "services": list(window.services.all()),
        "phases": _phases(items),
        "open_pre": _open_required(items, Phase.PRE),
        "open_post": _open_required(items, Phase.POST),
        "comparison": comparison,
        "events": list(window.events.all()),
        # Backup checks run for this window, and the PostgreSQL targets it could verify.
        "backup_checks": list(
            window.backup_checks.select_related("target__service").order_by("-created_at")[:10]
        ),
        "backup_targets": list(
            Target.objects.filter(service__in=window.services.all(), kind=TargetKind.POSTGRES)
            .select_related("service")
            .order_by("service__name", "name")
        ),
        "can_work": user_has_perm(user, Perm.MAINTENANCE_WORK) and not window.is_finished,
        "can_manage": user_has_perm(user, Perm.MAINTENANCE_MANAGE),
        "can_override": user_has_perm(user, Perm.MAINTENANCE_OVERRIDE),
        "overrunning": window.is_active and window.scheduled_end < now,
        "late": window.state == WindowState.SCHEDULED and window.scheduled_start < now,
        "start_form": StartForm(),
        "complete_form": CompleteForm(),
        "cancel_form": CancelForm(),
        "extend_form": ExtendForm(window=window),
        "note_form": NoteForm(),
        "item_form": ItemAddForm(),
        "error": None,
    }
    context.update(overrides)
    return context


@require_GET
@require_perm(Perm.MAINTENANCE_READ)
def window_detail(request, pk: int):
    window = _window(pk)
    return render(request, "maintenance/detail.html", _detail_context(request, window))


def _failed(request, pk: int, exc: MaintenanceError, **forms):
    """The window page again, with the service's refusal and the form that was sent."""
    window = _window(pk)
    context = _detail_context(request, window, error=exc, **forms)
    return render(request, "maintenance/detail.html", context, status=exc.http_status)


def _invalid(request, pk: int, message: str, **forms):
    return _failed(request, pk, MaintenanceError(message, code="invalid"), **forms)


# --- State changes ----------------------------------------------------------------------------


@require_POST
@require_perm(Perm.MAINTENANCE_MANAGE)
def window_start(request, pk: int):
    window = _window(pk)
    form = StartForm(request.POST)
    if not form.is_valid():
        return _invalid(request, pk, "The override reason is too long.", start_form=form)
    try:
        services.window_start(
            window=window, by=request.user, override_reason=form.cleaned_data["override_reason"]
        )
    except MaintenanceError as exc:
        return _failed(request, pk, exc, start_form=form)
    messages.success(request, f"{window.ref} started: its services are under maintenance.")
    return redirect(_detail_url(window))


@require_POST
@require_perm(Perm.MAINTENANCE_MANAGE)
def window_verify(request, pk: int):
    window = _window(pk)
    try:
        services.window_verify(window=window, by=request.user)
    except MaintenanceError as exc:
        return _failed(request, pk, exc)
    messages.success(request, f"{window.ref} is being verified; the after snapshot is running.")
    return redirect(_detail_url(window))


@require_POST
@require_perm(Perm.MAINTENANCE_MANAGE)
def window_complete(request, pk: int):
    window = _window(pk)
    form = CompleteForm(request.POST)
    if not form.is_valid():
        return _invalid(request, pk, "The override reason is too long.", complete_form=form)
    try:
        services.window_complete(
            window=window,
            by=request.user,
            override_reason=form.cleaned_data["override_reason"],
            acknowledge_regression=form.cleaned_data["acknowledge_regression"],
        )
    except MaintenanceError as exc:
        return _failed(request, pk, exc, complete_form=form)
    messages.success(request, f"{window.ref} completed.")
    return redirect(_detail_url(window))


@require_POST
@require_perm(Perm.MAINTENANCE_MANAGE)
def window_cancel(request, pk: int):
    window = _window(pk)
    form = CancelForm(request.POST)
    if not form.is_valid():
        return _invalid(request, pk, "Say why the window is cancelled.", cancel_form=form)
    try:
        services.window_cancel(window=window, by=request.user, reason=form.cleaned_data["reason"])
    except MaintenanceError as exc:
        return _failed(request, pk, exc, cancel_form=form)
    messages.success(request, f"{window.ref} cancelled.")
    return redirect(_detail_url(window))


@require_POST
@require_perm(Perm.MAINTENANCE_MANAGE)
def window_extend(request, pk: int):
    window = _window(pk)
    form = ExtendForm(request.POST, window=window)
    if not form.is_valid():
        return _invalid(request, pk, "The extension was not saved.", extend_form=form)
    try:
        services.window_extend(
            window=window,
            scheduled_end=form.cleaned_data["scheduled_end"],
            reason=form.cleaned_data["reason"],
            by=request.user,
        )
    except MaintenanceError as exc:
        return _failed(request, pk, exc, extend_form=form)
    messages.success(request, f"{window.ref} extended.")
    return redirect(_detail_url(window))


# --- Checklist and log ------------------------------------------------------------------------


@require_POST
@require_perm(Perm.MAINTENANCE_WORK)
def item_set(request, pk: int, item_id: int):
    """Tick or untick one item; an htmx request gets the checklist back to swap in."""
    item = get_object_or_404(ChecklistItem, pk=item_id, window_id=pk)
    form = ItemSetForm(request.POST)
    form.is_valid()  # a BooleanField: anything unreadable is "not done"
    try:
        services.checklist_item_set(
            item=item, done=form.cleaned_data.get("done", False), by=request.user
        )
    except MaintenanceError as exc:
        if request.htmx:
            # htmx does not swap error responses: reload the page, which shows the message.
            messages.error(request, exc.message)
            response = render(request, "maintenance/_error.html", {"error": exc})
            response.status_code = exc.http_status
            response["HX-Refresh"] = "true"
            return response
        return _failed(request, pk, exc)
    if request.htmx:
        context = _detail_context(request, _window(pk))
        return render(request, "maintenance/_checklist_swap.html", context)
    return redirect(f"{reverse('maintenance:detail', args=[pk])}#item-{item.pk}")


@require_POST
@require_perm(Perm.MAINTENANCE_WORK)
def item_add(request, pk: int):
    window = _window(pk)
    form = ItemAddForm(request.POST)
    if not form.is_valid():
        return _invalid(request, pk, "A checklist item needs a phase and a title.", item_form=form)
    try:
        item = services.checklist_item_add(window=window, by=request.user, **form.cleaned_data)
    except MaintenanceError as exc:
        return _failed(request, pk, exc, item_form=form)
    return redirect(f"{_detail_url(window)}#item-{item.pk}")


@require_POST
@require_perm(Perm.MAINTENANCE_WORK)
def note_add(request, pk: int):
    window = _window(pk)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _invalid(request, pk, "A note needs some text.", note_form=form)
    try:
        event = services.note_add(window=window, body=form.cleaned_data["body"], by=request.user)
    except MaintenanceError as exc:
        return _failed(request, pk, exc, note_form=form)
    return redirect(f"{_detail_url(window)}#event-{event.seq}")
