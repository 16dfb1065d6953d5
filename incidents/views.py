"""The commander's workspace: incident list, declare form, incident page and its actions.

Every action is a plain POST that redirects back (works without JavaScript); the timeline then
updates live through timeline.js.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import Perm, require_perm, user_has_perm

from . import gates, services
from .escalation import escalation_deadline
from .filters import IncidentFilter
from .forms import DeclareForm, NoteForm, PublicUpdateForm, SkipForm
from .models import EventKind, Incident, IncidentTask, Severity, Status, Step, TaskStatus
from .panels import panel_stylesheets, render_panels
from .playbook import STEP_OF_STATUS, action_label, allowed_targets, transition_perm
from .selectors import open_counts_by_severity, timeline_after

SORTS = {
    "newest": "-number",
    "oldest": "number",
    "severity": "severity",
    "status": "status",
    "updated": "-updated_at",
}
PAGE_SIZE = 25
TASK_VERBS = {"complete", "reopen", "assign", "skip"}


@require_GET
@require_perm(Perm.INCIDENTS_READ)
def incident_list(request):
    query = request.GET.copy()
    for key in list(query):  # an empty select ("any") means no filter, not an invalid choice
        values = [value for value in query.getlist(key) if value]
        if values:
            query.setlist(key, values)
        else:
            del query[key]
    if not any(key in query for key in ("status", "open", "all")):
        query["open"] = "true"  # the default view is what needs attention now
    incidents = IncidentFilter(query, queryset=Incident.objects.for_listing())
    sort = request.GET.get("sort", "newest")
    ordering = SORTS.get(sort, SORTS["newest"])
    results = (
        incidents.qs.order_by(ordering, "-number")
        if incidents.is_valid()
        else Incident.objects.none()
    )
    page = Paginator(results, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "page": page,
        "filter": incidents,
        "counts": open_counts_by_severity(),
        "sort": sort if sort in SORTS else "newest",
        "sorts": SORTS,
        "querystring": params.urlencode(),
        "statuses": Status.choices,
        "severities": Severity.choices,
        "can_declare": user_has_perm(request.user, Perm.INCIDENTS_RESPOND),
        "now": timezone.now(),
    }
    return render(request, "incidents/list.html", context)


@require_http_methods(["GET", "POST"])
@require_perm(Perm.INCIDENTS_RESPOND)
def incident_declare(request):
    form = DeclareForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        incident = services.incident_declare(
            title=data["title"],
            severity=data["severity"],
            services=data["services"],
            symptom=data["symptom"],
            commander=data["commander"] or request.user,
            impact_summary=data["impact_summary"],
            customer_facing=data["customer_facing"],
            by=request.user,
        )
        messages.success(request, f"{incident.ref} declared.")
        return redirect("incidents:detail", number=incident.number)
    status = 400 if request.method == "POST" else 200
    return render(request, "incidents/declare.html", {"form": form}, status=status)


def _incident(number: int) -> Incident:
    return get_object_or_404(
        Incident.objects.select_related("commander", "severity_policy").prefetch_related(
            "services", "responders"
        ),
        number=number,
    )


def _playbook(incident: Incident, tasks, now):
    current = STEP_OF_STATUS[incident.status]
    steps = []
    for value, label in Step.choices:
        step_tasks = [task for task in tasks if task.step == value]
        steps.append(
            {
                "value": value,
                "label": label,
                "current": value == current,
                "tasks": step_tasks,
                "done": bool(step_tasks) and all(t.status != TaskStatus.OPEN for t in step_tasks),
                "overdue": any(t.is_overdue(now) for t in step_tasks),
            }
        )
    return steps


@require_GET
@require_perm(Perm.INCIDENTS_READ)
def incident_detail(request, number: int):
    incident = _incident(number)
    now = timezone.now()
    tasks = list(incident.tasks.select_related("assignee", "completed_by"))
    kinds = [kind for kind in request.GET.getlist("kind") if kind in EventKind.values]
    events = list(timeline_after(incident, 0, kinds=kinds, limit=5000))
    user = request.user
    transitions = [
        {"to": to, "label": action_label(incident.status, to)}
        for to in allowed_targets(incident.status)
        if user_has_perm(user, transition_perm(to))
    ]
    context = {
        "incident": incident,
        "steps": _playbook(incident, tasks, now),
        "events": events,
        "last_seq": max((event.seq for event in events), default=0)
        if not kinds
        else incident.last_seq,
        "kinds": EventKind.choices,
        "selected_kinds": kinds,
        "transitions": transitions,
        "can_respond": user_has_perm(user, Perm.INCIDENTS_RESPOND),
        "can_command": user_has_perm(user, Perm.INCIDENTS_COMMAND),
        "note_form": NoteForm(),
        "update_form": PublicUpdateForm(),
        "now": now,
        "escalates_at": escalation_deadline(incident)
        if incident.status == Status.TRIGGERED
        else None,
        # Without a cross-process channel layer, worker events reach the page by polling.
        "poll_timeline": not settings.REDIS_URL,
        # Other apps' panels (alerts, …), registered in their AppConfig.ready().
        "panels": render_panels(request, incident),
        "panel_stylesheets": panel_stylesheets(),
    }
    return render(request, "incidents/detail.html", context)


@require_GET
@require_perm(Perm.INCIDENTS_READ)
def incident_timeline_partial(request, number: int):
    """Events after `?after=<seq>` as HTML rows, for the live timeline."""
    incident = get_object_or_404(Incident, number=number)
    try:
        after = max(int(request.GET.get("after", "0")), 0)
    except ValueError:
        after = 0
    kinds = [kind for kind in request.GET.getlist("kind") if kind in EventKind.values]
    events = list(timeline_after(incident, after, kinds=kinds))
    response = render(
        request, "incidents/_timeline_events.html", {"events": events, "incident": incident}
    )
    response["X-Last-Seq"] = str(events[-1].seq if events else after)
    return response


def _back(incident: Incident):
    return redirect("incidents:detail", number=incident.number)


@require_POST
@require_perm(Perm.INCIDENTS_READ)
def incident_transition(request, number: int):
    incident = _incident(number)
    to = request.POST.get("to", "")
    if to not in Status.values:
        messages.error(request, "Unknown target state.")
        return _back(incident)
    if not user_has_perm(request.user, transition_perm(to)):
        raise PermissionDenied
    note = request.POST.get("note", "")[:20_000]
    waiver = request.POST.get("waiver", "")[:2_000].strip()
    try:
        services.incident_transition(
            incident=incident, to=to, by=request.user, note=note, waiver=waiver
        )
    except services.IllegalTransition as exc:
        messages.error(request, str(exc))
    except gates.EvidenceRequired as exc:
        # The move needs evidence first: say what is missing and offer to go ahead with a reason.
        context = {
            "incident": incident,
            "to": to,
            "label": action_label(incident.status, to),
            "note": note,
            "failed": exc.failed,
            "waiver_missing": "waiver" in request.POST,
        }
        return render(request, "incidents/transition_waiver.html", context, status=409)
    else:
        messages.success(request, f"{incident.ref} is now {Status(to).label.lower()}.")
    return _back(incident)


@require_POST
@require_perm(Perm.INCIDENTS_RESPOND)
def incident_note(request, number: int):
    incident = _incident(number)
    form = NoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "A note needs some text.")
        return _back(incident)
    try:
        services.note_add(incident=incident, body=form.cleaned_data["body"], by=request.user)
    except services.IncidentClosed as exc:
        messages.error(request, str(exc))
    return _back(incident)


@require_POST
@require_perm(Perm.INCIDENTS_COMMAND)
def incident_public_update(request, number: int):
    incident = _incident(number)
    form = PublicUpdateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "A public update needs a status and a message.")
        return _back(incident)
    try:
        services.public_update_post(
            incident=incident,
            status=form.cleaned_data["status"],
            body=form.cleaned_data["body"],
            component_status=form.cleaned_data["component_status"] or None,
            by=request.user,
        )
    except services.IncidentClosed as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Public update posted to the status page.")
    return _back(incident)


@require_POST
@require_perm(Perm.INCIDENTS_RESPOND)
def task_action(request, number: int, task_id: int, verb: str):
    if verb not in TASK_VERBS:
        raise Http404
    incident = _incident(number)
    task = get_object_or_404(IncidentTask, pk=task_id, incident=incident)
    if incident.status == Status.CLOSED:
        messages.error(request, f"{incident.ref} is closed.")
        return _back(incident)
    if verb == "complete":
        services.task_complete(task=task, by=request.user)
    elif verb == "reopen":
        services.task_reopen(task=task, by=request.user)
    elif verb == "assign":
        services.task_assign(task=task, assignee=request.user, by=request.user)
    elif verb == "skip":
        form = SkipForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Say why the task is skipped.")
            return _back(incident)
        services.task_skip(task=task, by=request.user, reason=form.cleaned_data["reason"])
    return _back(incident)
