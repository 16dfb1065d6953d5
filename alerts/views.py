"""Alert group pages: the list, a group with its alerts, and the people's actions on it.

Actions are plain POSTs that redirect back with a message (they work without JavaScript); all
writes go through `services`. Alert content is untrusted: templates escape it and only http(s)
URLs become links (see `display.py`).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import Perm, require_perm, user_has_perm
from incidents.models import Severity
from incidents.services import IncidentClosed

from . import selectors, services
from .display import safe_links, safe_url
from .forms import GroupFilterForm, LinkForm
from .models import AlertGroup, GroupStatus

PAGE_SIZE = 50
FILTER_KEYS = ("status", "integration", "service", "severity", "q", "incident")


@require_GET
@require_perm(Perm.ALERTS_READ)
def group_list(request):
    # An empty select ("any") means no filter, not an invalid choice.
    query = {key: request.GET[key] for key in FILTER_KEYS if request.GET.get(key, "").strip()}
    form = GroupFilterForm(query)
    groups = (
        selectors.alert_groups(**form.filters()) if form.is_valid() else AlertGroup.objects.none()
    )
    page = Paginator(groups, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    selected = {key: query.get(key, "") for key in FILTER_KEYS}
    selected["status"] = selected["status"] or "open"
    context = {
        "page": page,
        "form": form,
        "selected": selected,
        "filtered": any(query.get(key) for key in FILTER_KEYS if key != "status")
        or selected["status"] != "open",
        "status_filters": selectors.STATUS_FILTERS.items(),
        "integrations": [(str(pk), name) for pk, name in selectors.integration_choices()],
        "services": selectors.service_choices(),
        "severities": Severity.choices,
        "querystring": params.urlencode(),
        "now": timezone.now(),
    }
    # htmx swaps only the results; a history restore (back button) needs the whole page.
    partial = request.htmx and not request.htmx.history_restore_request
    template = "alerts/_group_results.html" if partial else "alerts/list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _table(mapping) -> list[tuple[str, str, str | None]]:
    """(key, value, href) rows; values that are http(s) URLs become links, nothing else."""
    if not isinstance(mapping, dict):
        return []
    rows = []
    for key in sorted(mapping, key=str):
        value = mapping[key]
        text = value if isinstance(value, str) else str(value)
        rows.append((str(key), text, safe_url(text)))
    return rows


@require_GET
@require_perm(Perm.ALERTS_READ)
def group_detail(request, group_id: int):
    group = selectors.alert_group_for_page(group_id)
    if group is None:
        raise Http404("No such alert group.")
    user = request.user
    can_respond = user_has_perm(user, Perm.INCIDENTS_RESPOND)
    can_command = user_has_perm(user, Perm.INCIDENTS_COMMAND)
    rows = selectors.group_alerts(group)
    context = {
        "group": group,
        "labels": _table(group.labels),
        "annotations": _table(group.annotations),
        "links": safe_links(group.links),
        "rows": [(row, safe_url(row.alert.generator_url)) for row in rows],
        "alert_total": selectors.group_alert_total(group),
        "can_acknowledge": can_respond and group.status == GroupStatus.FIRING,
        "can_resolve": can_respond and group.is_open,
        "can_link": can_command,
        "link_form": LinkForm(),
        "incidents": list(selectors.linkable_incidents()) if can_command else [],
        "now": timezone.now(),
    }
    return render(request, "alerts/detail.html", context)


def _back(group_id: int):
    return redirect("alerts:detail", group_id=group_id)


def _group(group_id: int) -> AlertGroup:
    return get_object_or_404(AlertGroup.objects.select_related("integration"), pk=group_id)


@require_POST
@require_perm(Perm.INCIDENTS_RESPOND)
def group_acknowledge(request, group_id: int):
    group = _group(group_id)
    if group.status == GroupStatus.ACKNOWLEDGED:
        messages.info(request, "This alert group is already acknowledged.")
        return _back(group.pk)
    try:
        services.group_acknowledge(group=group, by=request.user)
    except services.GroupResolved:
        messages.error(request, "This alert group is resolved: there is nothing to acknowledge.")
    except IncidentClosed as exc:
        messages.error(request, f"Could not acknowledge: {exc}.")
    else:
        messages.success(request, "Alert group acknowledged.")
    return _back(group.pk)


@require_POST
@require_perm(Perm.INCIDENTS_RESPOND)
def group_resolve(request, group_id: int):
    group = _group(group_id)
    try:
        services.group_resolve(group=group, by=request.user)
    except services.GroupResolved:
        messages.error(request, "This alert group is already resolved.")
    except IncidentClosed as exc:
        messages.error(request, f"Could not resolve: {exc}.")
    else:
        messages.success(request, "Alert group resolved.")
    return _back(group.pk)


@require_POST
@require_perm(Perm.INCIDENTS_COMMAND)
def group_link(request, group_id: int):
    group = _group(group_id)
    form = LinkForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick an open incident to link this alert group to.")
        return _back(group.pk)
    incident = form.cleaned_data["incident"]
    if group.incident_id == incident.pk:
        messages.info(request, f"Already linked to {incident.ref}.")
        return _back(group.pk)
    try:
        services.group_link_incident(group=group, incident=incident, by=request.user)
    except IncidentClosed:
        messages.error(request, f"{incident.ref} is closed; link the group to an open incident.")
    else:
        messages.success(request, f"Linked to {incident.ref}.")
    return _back(group.pk)
