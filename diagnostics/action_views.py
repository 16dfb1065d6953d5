"""Remediation pages in the incident workspace: preview an action, then confirm, approve or reject.

Every write goes through `diagnostics.remediation` (the same service the API calls), as a plain
POST that redirects with a message, so the pages work without JavaScript. An `ActionError`
becomes a form error or a message, never a server error.

The preview's one-time token never appears in a URL: after previewing it is kept in the
session of the commander who previewed (keyed by request id), rendered only into that person's
confirm form, and dropped when they confirm. Someone else, another session, or an expired
preview gets "Preview again", which posts the same action, target and params for a fresh one.

Roles: REMEDIATION_REQUEST (responders and up) preview; REMEDIATION_APPROVE (commanders) confirm,
approve and reject. The service enforces requester ≠ approver and admin-only `force`; the pages
only avoid offering what would be refused.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import Perm, require_perm, user_has_perm
from incidents.models import Incident
from incidents.models import Status as IncidentStatus

from . import remediation, selectors
from .action_forms import (
    ActionPreviewForm,
    ConfirmForm,
    RejectForm,
    params_as_form_data,
    parse_prefill,
    prefill_url,
)
from .actions import registry as action_registry
from .models import ActionRequest, ActionState, ProbeRun

TOKENS_KEY = "remediation_preview_tokens"
KEEP_TOKENS = 10  # previews a session keeps tokens for (the newest)
ACTIONS_PAGE_SIZE = 25
# States after which previewing the same action again is offered.
AGAIN_STATES = (
    ActionState.EXPIRED,
    ActionState.REFUSED,
    ActionState.FAILED,
    ActionState.UNKNOWN,
    ActionState.REJECTED,
)
WORKING_STATES = (ActionState.APPROVED, ActionState.RUNNING)
INLINE_DETAIL_CHARS = 80


# --- Helpers shared with the other diagnostics pages ------------------------------------------


def may_remediate(user, incident: Incident | None) -> bool:
    return (
        incident is not None
        and incident.status != IncidentStatus.CLOSED
        and user_has_perm(user, Perm.REMEDIATION_REQUEST)
    )


def suggestion_links(run: ProbeRun, incident: Incident) -> list[dict]:
    """The run's suggested actions as "Preview: …" links to the prefilled preview form."""
    return [
        {
            "label": found["label"],
            "title": found["title"],
            "url": prefill_url(incident.number, found),
        }
        for found in remediation.suggested_actions(run)
    ]


def _incident(number: int) -> Incident:
    return get_object_or_404(Incident.objects.prefetch_related("services"), number=number)


# --- The preview token, kept in the session ---------------------------------------------------


def _remember_token(request, request_id: int, token: str, reason: str) -> None:
    kept = dict(request.session.get(TOKENS_KEY, {}))
    kept[str(request_id)] = {"token": token, "reason": reason}
    while len(kept) > KEEP_TOKENS:  # dicts keep insertion order: drop the oldest
        kept.pop(next(iter(kept)))
    request.session[TOKENS_KEY] = kept


def _kept_token(request, request_id: int) -> dict | None:
    return request.session.get(TOKENS_KEY, {}).get(str(request_id))


def _forget_token(request, request_id: int) -> None:
    kept = dict(request.session.get(TOKENS_KEY, {}))
    if kept.pop(str(request_id), None) is not None:
        request.session[TOKENS_KEY] = kept


# --- Preview ----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@require_perm(Perm.INCIDENTS_READ, Perm.REMEDIATION_REQUEST)
def action_new(request, number: int):
    incident = _incident(number)
    if incident.status == IncidentStatus.CLOSED:
        messages.error(request, f"{incident.ref} is closed: no more actions are taken on it.")
        return redirect("incidents:detail", number)
    available = selectors.applicable_actions(selectors.incident_targets(incident))
    by_name = {item.action.name: item for item in available}
    source = request.POST if request.method == "POST" else request.GET
    asked = source.get("action", "")
    chosen = by_name.get(asked)
    if chosen is None:
        problem = (
            f"“{asked}” cannot act on any of {incident.ref}'s targets: choose one below."
            if asked
            else ""
        )
        context = {"incident": incident, "available": available, "problem": problem}
        status = 400 if request.method == "POST" or asked else 200
        return render(request, "diagnostics/action_new.html", context, status=status)

    form_args = {"action": chosen.action, "targets": chosen.targets, "user": request.user}
    if request.method == "GET":
        form = ActionPreviewForm(
            prefill=parse_prefill(request.GET.get("params", "")),
            initial=_initial(request.GET, asked),
            **form_args,
        )
        return _form_page(request, incident, chosen, form)

    form = ActionPreviewForm(request.POST, **form_args)
    if not form.is_valid():
        return _form_page(request, incident, chosen, form, status=400)
    data = form.cleaned_data
    try:
        issued = remediation.action_preview(
            incident=incident,
            action=chosen.action.name,
            target=data["target_obj"],
            params=data["params"],
            by=request.user,
            from_run=_incident_run(incident, data.get("run")),
        )
    except remediation.ActionError as exc:
        errors = [str(exc), *form.add_service_errors(exc.errors)]
        return _form_page(request, incident, chosen, form, errors=errors, status=400)
    previewed = issued.request
    if issued.token and user_has_perm(request.user, Perm.REMEDIATION_APPROVE):
        _remember_token(request, previewed.pk, issued.token, data.get("reason", ""))
    if previewed.state == ActionState.REFUSED:
        messages.error(request, f"Refused: {previewed.error}")
    elif user_has_perm(request.user, Perm.REMEDIATION_APPROVE):
        messages.success(request, "Previewed: nothing has changed yet. Check it, then confirm.")
    else:
        messages.success(request, "Previewed: nothing has changed. A commander confirms it.")
    return redirect("diagnostics:action", previewed.pk)


def _initial(query, action_name: str) -> dict:
    initial = {"action": action_name}
    if query.get("target", "").isdigit():
        initial["target"] = query["target"]
    if query.get("run", "").isdigit():
        initial["run"] = int(query["run"])
    return initial


def _incident_run(incident: Incident, run_id: int | None) -> ProbeRun | None:
    """The probe run a suggestion came from, if it belongs to this incident."""
    if not run_id:
        return None
    return ProbeRun.objects.filter(pk=run_id, diagnosis__incident=incident).first()


def _form_page(request, incident, chosen, form, *, errors=(), status: int = 200):
    run = str(form["run"].value() or "")
    context = {
        "from_run": int(run) if run.isdigit() else None,
        "incident": incident,
        "chosen": chosen,
        "form": form,
        "page_errors": list(errors),
        "can_confirm": user_has_perm(request.user, Perm.REMEDIATION_APPROVE),
    }
    return render(request, "diagnostics/action_new.html", context, status=status)


# --- The action page --------------------------------------------------------------------------


@require_GET
@require_perm(Perm.DIAGNOSTICS_READ, Perm.INCIDENTS_READ)
def action_detail(request, pk: int):
    found = selectors.action_for_page(pk)
    if found is None:
        raise Http404("No such action request.")
    user = request.user
    plugin = action_registry.get(found.action) if found.action in action_registry else None
    incident_open = found.incident.status != IncidentStatus.CLOSED
    can_approve = user_has_perm(user, Perm.REMEDIATION_APPROVE)
    previewed = found.state == ActionState.PREVIEWED
    lapsed = bool(
        previewed and found.preview_expires_at and found.preview_expires_at <= timezone.now()
    )
    kept = _kept_token(request, pk) if previewed and can_approve and not lapsed else None
    confirm_form = None
    if kept and incident_open:
        confirm_form = ConfirmForm(
            initial={"token": kept["token"], "reason": kept.get("reason", "")},
            auto_id="id_confirm_%s",
        )
    offer_again = (
        plugin is not None
        and found.target_id is not None
        and incident_open
        and user_has_perm(user, Perm.REMEDIATION_REQUEST)
        and (
            found.state in AGAIN_STATES
            or lapsed
            or (previewed and confirm_form is None and can_approve)
        )
    )
    context = {
        "found": found,
        "incident": found.incident,
        "plugin": plugin,
        "lapsed": lapsed,
        "confirm_form": confirm_form,
        "offer_again": offer_again,
        "again_fields": params_as_form_data(plugin, found.params, user) if offer_again else [],
        "can_approve": can_approve,
        "can_decide": can_approve and found.state == ActionState.REQUESTED,
        "is_requester": found.requested_by_id == user.pk,
        "reject_form": RejectForm(auto_id="id_reject_%s"),
        "working": found.state in WORKING_STATES,
        "details": shaped(found.preview.get("details")),
        "result_details": shaped((found.result or {}).get("details")),
        "params_json": json.dumps(found.params, indent=2, ensure_ascii=False, default=str),
    }
    response = render(request, "diagnostics/action.html", context)
    add_never_cache_headers(response)  # may carry the preview token; the state moves anyway
    return response


def shaped(details) -> list[dict]:
    """A preview's or result's details as rows: short values inline, the rest as blocks."""
    if not isinstance(details, dict):
        return []
    rows = []
    for name, value in details.items():
        if isinstance(value, dict | list):
            text, block = json.dumps(value, indent=2, ensure_ascii=False, default=str), True
        else:
            text = "—" if value is None or value == "" else str(value)
            block = "\n" in text or len(text) > INLINE_DETAIL_CHARS
        rows.append({"name": str(name).replace("_", " "), "text": text, "block": block})
    return rows


@require_GET
@require_perm(Perm.DIAGNOSTICS_READ, Perm.INCIDENTS_READ)
def action_list(request, number: int):
    incident = _incident(number)
    page = Paginator(selectors.incident_action_requests(incident.pk), ACTIONS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "incident": incident,
        "page": page,
        "can_remediate": may_remediate(request.user, incident),
    }
    return render(request, "diagnostics/incident_actions.html", context)


# --- Confirm, approve, reject -----------------------------------------------------------------


def _action_page(pk: int):
    return redirect("diagnostics:action", pk)


@require_POST
@require_perm(Perm.REMEDIATION_APPROVE)
def action_confirm(request, pk: int):
    found = get_object_or_404(ActionRequest, pk=pk)
    form = ConfirmForm(request.POST)
    _forget_token(request, pk)  # one use, whatever happens next
    if not form.is_valid():
        messages.error(request, "The confirmation lacked the preview's token: preview again.")
        return _action_page(pk)
    try:
        confirmed = remediation.action_confirm(
            request=found,
            token=form.cleaned_data["token"],
            by=request.user,
            reason=form.cleaned_data["reason"],
        )
    except remediation.ActionError as exc:
        messages.error(request, str(exc))
        return _action_page(pk)
    _say_where_it_stands(request, confirmed)
    return _action_page(pk)


@require_POST
@require_perm(Perm.REMEDIATION_APPROVE)
def action_approve(request, pk: int):
    found = get_object_or_404(ActionRequest, pk=pk)
    try:
        approved = remediation.action_approve(request=found, by=request.user)
    except remediation.ActionError as exc:
        messages.error(request, str(exc))
        return _action_page(pk)
    _say_where_it_stands(request, approved)
    return _action_page(pk)


@require_POST
@require_perm(Perm.REMEDIATION_APPROVE)
def action_reject(request, pk: int):
    found = get_object_or_404(ActionRequest, pk=pk)
    form = RejectForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["reason"]))
        return _action_page(pk)
    try:
        remediation.action_reject(
            request=found, by=request.user, reason=form.cleaned_data["reason"]
        )
    except remediation.ActionError as exc:
        messages.error(request, str(exc))
        return _action_page(pk)
    messages.success(request, "Rejected: nothing was done.")
    return _action_page(pk)


def _say_where_it_stands(request, changed: ActionRequest) -> None:
    """Inline runs may already have finished it: say what is true now."""
    changed.refresh_from_db(fields=["state", "result", "error"])
    state = changed.state
    if state == ActionState.REQUESTED:
        messages.success(request, "Requested: a second commander must approve before it runs.")
    elif state in WORKING_STATES:
        messages.success(
            request, "Confirmed: it runs on a worker now; the incident timeline shows each step."
        )
    elif state == ActionState.DONE:
        messages.success(request, f"Done: {changed.result.get('summary', '')}")
    else:
        messages.error(request, f"{changed.get_state_display()}: {changed.error}")
