"""Diagnostics pages: probe sets of an incident, one set, one run, the probe catalogue, runbooks.

Reading needs DIAGNOSTICS_READ (every role). Starting a runbook, a single probe or a service
health check needs DIAGNOSTICS_START (commanders); re-running a run already made needs
DIAGNOSTICS_RUN (responders); verified resolution is the commander's (INCIDENTS_COMMAND), as is
resolving. Every action is a plain POST through the service layer that redirects back with a
message, so the pages work without JavaScript; results then arrive on the incident timeline.
A `DiagnosticsError` becomes an error message, never a server error.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import Perm, require_perm, user_has_perm
from catalog.models import Service
from incidents.models import Incident

from . import selectors, services, verification
from .action_views import may_remediate, suggestion_links
from .forms import (
    MAX_STEPS,
    ProbeStartForm,
    RunbookForm,
    RunbookRunForm,
    VerifyForm,
    step_formset,
)
from .models import Diagnosis, Runbook, RunState, Verification, VerificationState
from .panels import incident_actions
from .probes import registry
from .runbook_schema import RunbookSerializer

PAGE_SIZE = 50
INCIDENT_PAGE_SIZE = 10
RUNBOOK_FIELDS = ("name", "symptom", "description", "suggested_remediations", "enabled")


# --- Helpers ----------------------------------------------------------------------------------


def _incident(number: int) -> Incident:
    return get_object_or_404(
        Incident.objects.select_related("commander").prefetch_related("services"), number=number
    )


def _back(request, default: str):
    """Redirect to the form's `next` (a path on this site) or to `default`."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(default)


def _incident_page(incident: Incident) -> str:
    return reverse("diagnostics:incident", args=[incident.number])


def _error_lines(errors, prefix: str = "") -> list[str]:
    """DRF-style nested errors as readable lines: `latency_warning_ms: must be ≥ 1`."""
    if isinstance(errors, dict):
        lines = []
        for key, value in errors.items():
            label = "" if key in ("non_field_errors", "__all__") else f"{key}: "
            lines.extend(_error_lines(value, prefix + label))
        return lines
    if isinstance(errors, list | tuple):
        return [line for item in errors for line in _error_lines(item, prefix)]
    return [f"{prefix}{errors}"]


def _report(request, exc: services.DiagnosticsError) -> None:
    details = _error_lines(exc.errors)
    messages.error(request, " ".join([str(exc), *details]))


def _cards(diagnoses, user) -> list[dict]:
    """Probe sets with their runs grouped by step; runs carry their suggested actions for
    people who may preview one (computed from the loaded results: no queries)."""
    cards = []
    for diagnosis in diagnoses:
        runs = list(diagnosis.runs.all())
        if may_remediate(user, diagnosis.incident):
            for run in runs:
                run.suggested = suggestion_links(run, diagnosis.incident)
        cards.append(
            {
                "diagnosis": diagnosis,
                "groups": selectors.step_groups(runs),
                "running": not diagnosis.finished,
            }
        )
    return cards


# --- Reading ----------------------------------------------------------------------------------


@require_GET
@require_perm(Perm.DIAGNOSTICS_READ)
def diagnosis_list(request):
    page = Paginator(selectors.recent_diagnoses(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "diagnostics/list.html", {"page": page, "now": timezone.now()})


@require_GET
@require_perm(Perm.DIAGNOSTICS_READ, Perm.INCIDENTS_READ)
def incident_diagnostics(request, number: int):
    incident = _incident(number)
    page = Paginator(selectors.incident_diagnoses(incident.pk), INCIDENT_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    latest = selectors.latest_verification(incident.pk)
    active = latest if latest and latest.state in verification.ACTIVE else None
    context = {
        "incident": incident,
        "page": page,
        "cards": _cards(page.object_list, request.user),
        "verification": latest,
        "active_verification": active,
        "can_cancel": active is not None and user_has_perm(request.user, Perm.INCIDENTS_COMMAND),
        "can_run_again": user_has_perm(request.user, Perm.DIAGNOSTICS_RUN),
        "next": request.get_full_path(),
        **incident_actions(request.user, incident, verification=active),
    }
    return render(request, "diagnostics/incident.html", context)


@require_GET
@require_perm(Perm.DIAGNOSTICS_READ)
def diagnosis_detail(request, pk: int):
    diagnosis = selectors.with_runs(Diagnosis.objects.filter(pk=pk)).first()
    if diagnosis is None:
        raise Http404("No such diagnosis.")
    context = {
        "diagnosis": diagnosis,
        "card": _cards([diagnosis], request.user)[0],
        "can_run_again": user_has_perm(request.user, Perm.DIAGNOSTICS_RUN),
        "next": request.get_full_path(),
    }
    return render(request, "diagnostics/diagnosis.html", context)


@require_GET
@require_perm(Perm.DIAGNOSTICS_READ)
def run_detail(request, pk: int):
    run = selectors.run_for_page(pk)
    if run is None:
        raise Http404("No such probe run.")
    incident = run.diagnosis.incident
    context = {
        "run": run,
        "diagnosis": run.diagnosis,
        "suggestions": suggestion_links(run, incident)
        if may_remediate(request.user, incident)
        else [],
        "probe": registry.get(run.probe) if run.probe in registry else None,
        "params_json": json.dumps(run.params, indent=2, ensure_ascii=False, default=str),
        "can_run_again": user_has_perm(request.user, Perm.DIAGNOSTICS_RUN)
        and run.target_id is not None
        and run.state == RunState.DONE,
        "next": request.get_full_path(),
    }
    return render(request, "diagnostics/run.html", context)


@require_GET
@require_perm(Perm.DIAGNOSTICS_READ)
def probe_catalogue(request):
    kinds: dict[str, list[dict]] = {}
    for probe in sorted(registry.all(), key=lambda p: (p.kind, p.name)):
        kinds.setdefault(probe.kind, []).append({"probe": probe, "params": probe.describe_params()})
    return render(request, "diagnostics/probes.html", {"kinds": kinds})


@require_GET
@require_perm(Perm.DIAGNOSTICS_READ)
def runbook_list(request):
    runbooks = [
        {
            "runbook": runbook,
            "steps": [
                {
                    "step": step,
                    "known": step.probe in registry,
                    "title": step.title
                    or (registry.get(step.probe).title if step.probe in registry else step.probe),
                }
                for step in runbook.steps.all()
            ],
        }
        for runbook in selectors.runbooks_with_steps()
    ]
    context = {
        "runbooks": runbooks,
        "can_manage": user_has_perm(request.user, Perm.RUNBOOKS_MANAGE),
    }
    return render(request, "diagnostics/runbooks.html", context)


# --- Runbook editor ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@require_perm(Perm.RUNBOOKS_MANAGE)
def runbook_new(request):
    return _runbook_editor(request, None)


@require_http_methods(["GET", "POST"])
@require_perm(Perm.RUNBOOKS_MANAGE)
def runbook_edit(request, pk: int):
    runbook = get_object_or_404(Runbook.objects.prefetch_related("steps"), pk=pk)
    return _runbook_editor(request, runbook)


def _runbook_editor(request, runbook: Runbook | None):
    page_errors: list[str] = []
    if request.method == "GET":
        form = RunbookForm.for_runbook(runbook)
        formset = step_formset(runbook, extra=0 if runbook and runbook.steps.all() else 1)
        return _editor_page(request, runbook, form, formset, page_errors)

    data = request.POST
    if "add_step" in data:
        # Without JavaScript: show the same form with one more empty step, saving nothing.
        data = data.copy()
        data["steps-TOTAL_FORMS"] = str(min(_int(data.get("steps-TOTAL_FORMS")) + 1, MAX_STEPS))
    form = RunbookForm.for_runbook(runbook, data)
    formset = step_formset(runbook, data)
    if "add_step" in request.POST:
        return _editor_page(request, runbook, form, formset, page_errors)

    if form.is_valid() and formset.is_valid():
        payload = {**form.cleaned_data, "steps": formset.steps()}
        serializer = RunbookSerializer(instance=runbook, data=payload)
        if serializer.is_valid():
            saved = serializer.save()
            messages.success(request, f"Runbook “{saved.name}” saved.")
            return redirect(f"{reverse('diagnostics:runbooks')}#runbook-{saved.pk}")
        page_errors = _attach_errors(serializer.errors, form, formset)
    return _editor_page(request, runbook, form, formset, page_errors, status=400)


def _int(value) -> int:
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 0


def _attach_errors(errors: dict, form, formset) -> list[str]:
    """Put the serializer's errors on the fields they belong to; return the rest."""
    rest: list[str] = []
    for key, value in errors.items():
        if key in RUNBOOK_FIELDS:
            form.add_error(key, _error_lines(value))
        elif key == "slug":
            form.add_error(
                "name",
                [
                    f"Its address “{form.cleaned_data.get('name', '')}” is "
                    "taken by another runbook: choose another name."
                ],
            )
        elif key == "steps" and isinstance(value, list) and value and isinstance(value[0], dict):
            ordered = formset.ordered_forms
            for step_form, step_errors in zip(ordered, value, strict=False):
                for field, problems in step_errors.items():
                    name = field if field in step_form.fields else None
                    step_form.add_error(name, _error_lines(problems))
        else:
            rest.extend(_error_lines(value))
    return rest


def _editor_page(request, runbook, form, formset, page_errors, status: int = 200):
    context = {
        "runbook": runbook,
        "form": form,
        "formset": formset,
        "page_errors": page_errors,
        "max_steps": MAX_STEPS,
    }
    return render(request, "diagnostics/runbook_form.html", context, status=status)


# --- Starting and re-running ------------------------------------------------------------------


def _trigger(request) -> str:
    return f"started by {request.user.get_username()}"


@require_POST
@require_perm(Perm.DIAGNOSTICS_START)
def runbook_run(request, number: int):
    incident = _incident(number)
    form = RunbookRunForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick an enabled runbook to run.")
        return _back(request, _incident_page(incident))
    runbook = form.cleaned_data["runbook"]
    try:
        diagnosis = services.runbook_start(
            runbook=runbook, incident=incident, by=request.user, trigger=_trigger(request)
        )
    except services.DiagnosticsError as exc:
        _report(request, exc)
    else:
        messages.success(request, _started(f"Runbook “{runbook.name}”", diagnosis))
    return _back(request, _incident_page(incident))


@require_POST
@require_perm(Perm.DIAGNOSTICS_START)
def probe_run_start(request, number: int):
    incident = _incident(number)
    form = ProbeStartForm(request.POST, targets=selectors.incident_targets(incident))
    if not form.is_valid():
        problems = [line for field in form.errors.values() for line in field]
        messages.error(request, "Could not start the probe: " + " ".join(problems))
        return _back(request, _incident_page(incident))
    data = form.cleaned_data
    try:
        diagnosis = services.probe_start(
            probe=data["probe"],
            target=data["target"],
            params=data["params"],
            by=request.user,
            incident=incident,
        )
    except services.DiagnosticsError as exc:
        _report(request, exc)
    else:
        messages.success(request, _started(diagnosis.title, diagnosis))
    return _back(request, _incident_page(incident))


@require_POST
@require_perm(Perm.DIAGNOSTICS_RUN)
def run_again(request, pk: int):
    run = get_object_or_404(
        selectors.runs_for_display().select_related("diagnosis", "target__service"), pk=pk
    )
    try:
        diagnosis = services.run_again(run=run, by=request.user)
    except services.DiagnosticsError as exc:
        _report(request, exc)
        return _back(request, reverse("diagnostics:run", args=[run.pk]))
    messages.success(request, _started(diagnosis.title, diagnosis))
    return _back(request, reverse("diagnostics:diagnosis", args=[diagnosis.pk]))


@require_POST
@require_perm(Perm.DIAGNOSTICS_START)
def health_check(request, slug: str):
    service = get_object_or_404(Service, slug=slug)
    try:
        diagnosis = services.health_check_start(service=service, by=request.user)
    except services.DiagnosticsError as exc:
        _report(request, exc)
        return redirect("catalog:service-detail", slug=service.slug)
    if diagnosis.total == 0:
        messages.info(request, f"{service.name} has no enabled targets with health probes.")
    else:
        messages.success(request, _started(diagnosis.title, diagnosis))
    return redirect("diagnostics:diagnosis", pk=diagnosis.pk)


def _started(what: str, diagnosis: Diagnosis) -> str:
    count = diagnosis.total
    if count == 0:
        return f"{what}: nothing to probe (no enabled targets of the kinds it checks)."
    state = "finished" if diagnosis.finished else "started"
    return f"{what}: {count} probe{'s' if count != 1 else ''} {state}."


# --- Verified resolution ----------------------------------------------------------------------


@require_POST
@require_perm(Perm.INCIDENTS_COMMAND)
def verify_resolution(request, number: int):
    incident = _incident(number)
    form = VerifyForm(request.POST)
    if not form.is_valid():
        problems = [f"{name}: {line}" for name, lines in form.errors.items() for line in lines]
        messages.error(request, "Could not start the verification: " + " ".join(problems))
        return _back(request, _incident_page(incident))
    data = form.cleaned_data
    try:
        requested = verification.verification_request(
            incident=incident,
            by=request.user,
            runbook=data["runbook"],
            note=data["note"],
            watch_minutes=data["watch_minutes"],
        )
    except services.DiagnosticsError as exc:
        _report(request, exc)
    else:
        _say_verification_state(request, incident, requested)
    return _back(request, _incident_page(incident))


def _say_verification_state(request, incident: Incident, requested: Verification) -> None:
    """The probes may already have finished (inline runs): say where things stand now."""
    requested.refresh_from_db(fields=["state"])
    state = requested.state
    if state == VerificationState.FAILED:
        summary = (
            Diagnosis.objects.filter(pk=requested.diagnosis_id).values_list("summary", flat=True)
        ).first()
        messages.error(
            request, f"Verification failed ({summary}): {incident.ref} was not resolved."
        )
    elif state in (VerificationState.WATCHING, VerificationState.PASSED):
        messages.success(request, f"Verified: {incident.ref} is resolved.")
    else:
        messages.success(request, f"Verifying: {incident.ref} resolves once the probes pass.")


@require_POST
@require_perm(Perm.INCIDENTS_COMMAND)
def verification_cancel(request, pk: int):
    found = get_object_or_404(Verification.objects.select_related("incident"), pk=pk)
    if found.state not in verification.ACTIVE:
        messages.info(request, "This verification is no longer active.")
    else:
        verification.verification_cancel(verification=found, by=request.user)
        messages.success(request, "Verification cancelled: the incident stays as it is.")
    return _back(request, _incident_page(found.incident))
