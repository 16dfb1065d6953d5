"""The diagnostics panel of the incident page, and the start forms it shares with the
incident's diagnostics page.

The panel shows the latest probe sets with their runs (status word + summary, worst first), the
verified-resolution state with its cancel button, and — for commanders — buttons to run the
symptom's runbook, any runbook or a single probe, and to resolve after verification. Below them
come the incident's latest remediation actions (state + summary) and, for those who may preview
one, "Remediate…" and the runs' suggested actions as "Preview: …" links. It costs a fixed number
of queries whatever the number of runs and actions (see selectors.py); suggestions are computed
from the runs already loaded.
"""

from __future__ import annotations

from django.template.loader import render_to_string

from accounts.permissions import Perm, user_has_perm
from incidents.models import Status
from incidents.playbook import allowed_targets

from . import selectors
from .action_views import may_remediate, suggestion_links
from .forms import ProbeStartForm, RunbookRunForm, VerifyForm
from .verification import ACTIVE

PANEL_DIAGNOSES = 3
PANEL_RUNS = 6
PANEL_ACTIONS = 5
PANEL_SUGGESTIONS = 3  # per run: the run page lists them all


def incident_actions(user, incident, *, verification=None) -> dict:
    """What the user may start on this incident, with the forms to do it (empty for viewers).

    `verification` is the incident's active verification, if the caller already loaded it.
    """
    can_start = user_has_perm(user, Perm.DIAGNOSTICS_START) and incident.status != Status.CLOSED
    can_verify = (
        user_has_perm(user, Perm.INCIDENTS_COMMAND)
        and Status.RESOLVED in allowed_targets(incident.status)
        and verification is None
    )
    context = {"can_start": can_start, "can_verify": can_verify}
    if not (can_start or can_verify):
        return context
    runbooks = selectors.enabled_runbooks()
    symptom_runbook = next(
        (rb for rb in runbooks if incident.symptom and rb.symptom == incident.symptom), None
    )
    if can_start:
        context["symptom_runbook"] = symptom_runbook
        context["runbook_form"] = RunbookRunForm(
            runbooks=runbooks,
            initial={"runbook": symptom_runbook.pk if symptom_runbook else None},
            auto_id="id_run_%s",
        )
        context["probe_form"] = ProbeStartForm(
            targets=selectors.incident_targets(incident), auto_id="id_probe_%s"
        )
    if can_verify:
        context["verify_form"] = VerifyForm(runbooks=runbooks, auto_id="id_verify_%s")
    return context


def render_incident_panel(request, incident):
    user = request.user
    if not user_has_perm(user, Perm.DIAGNOSTICS_READ):
        return None
    diagnoses = list(selectors.incident_diagnoses(incident.pk)[:PANEL_DIAGNOSES])
    verification = selectors.latest_verification(incident.pk)
    active = verification if verification and verification.state in ACTIVE else None
    remediate = may_remediate(user, incident)
    cards = []
    for diagnosis in diagnoses:
        runs = selectors.worst_first(list(diagnosis.runs.all()))
        more = len(runs) > PANEL_RUNS
        runs = runs[:PANEL_RUNS]
        if remediate:
            for run in runs:
                run.suggested = suggestion_links(run, incident)[:PANEL_SUGGESTIONS]
        cards.append({"diagnosis": diagnosis, "runs": runs, "more": more})
    actions = list(selectors.incident_action_requests(incident.pk)[: PANEL_ACTIONS + 1])
    proposals = list(selectors.pending_proposals_for(incident))
    context = {
        "incident": incident,
        "cards": cards,
        "verification": verification,
        "active_verification": active,
        "can_cancel": active is not None and user_has_perm(user, Perm.INCIDENTS_COMMAND),
        "next": request.get_full_path(),
        "actions": actions[:PANEL_ACTIONS],
        "more_actions": len(actions) > PANEL_ACTIONS,
        "can_remediate": remediate,
        "proposals": proposals,
        "can_decide": user_has_perm(user, Perm.INCIDENTS_COMMAND),
        **incident_actions(user, incident, verification=active),
    }
    return render_to_string("diagnostics/_incident_panel.html", context, request=request)
