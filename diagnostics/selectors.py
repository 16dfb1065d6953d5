"""Reads of the diagnostics pages and the incident panel, each a fixed number of queries.

A page shows diagnoses with all their runs, and each run may name its baseline run: the runs
come in one prefetch query with the baseline joined (its bulky result left out), so a page with
twenty runs costs what a page with one does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Prefetch, Q, QuerySet

from catalog.models import Target

from .actions import registry as action_registry
from .actions.base import Action
from .models import (
    ActionRequest,
    Diagnosis,
    ProbeRun,
    ProposalState,
    Runbook,
    RunState,
    StatusProposal,
    Verification,
)
from .probes import registry
from .probes.base import Status

# The baseline's own result and changes are never shown next to the run compared with it.
BASELINE_DEFERRED = ("baseline__result", "baseline__changes", "baseline__params")
DIAGNOSIS_RELATED = ("incident", "service", "runbook", "started_by")


def runs_for_display() -> QuerySet:
    return (
        ProbeRun.objects.select_related("baseline")
        .defer(*BASELINE_DEFERRED)
        .order_by("position", "id")
    )


def with_runs(diagnoses: QuerySet) -> QuerySet:
    """Diagnoses with what their cards show: incident, service, runbook, starter and runs."""
    return diagnoses.select_related(*DIAGNOSIS_RELATED).prefetch_related(
        Prefetch("runs", queryset=runs_for_display())
    )


def recent_diagnoses() -> QuerySet:
    """Every diagnosis, newest first, for the index (runs are not shown there: no prefetch)."""
    return Diagnosis.objects.select_related(*DIAGNOSIS_RELATED).order_by("-created_at", "-id")


def incident_diagnoses(incident_id: int) -> QuerySet:
    return with_runs(Diagnosis.objects.for_incident(incident_id)).order_by("-created_at", "-id")


def run_for_page(pk: int) -> ProbeRun | None:
    return (
        ProbeRun.objects.select_related(
            "diagnosis__incident", "diagnosis__service", "diagnosis__runbook", "target", "baseline"
        )
        .defer(*BASELINE_DEFERRED)
        .filter(pk=pk)
        .first()
    )


def latest_verification(incident_id: int) -> Verification | None:
    """The active verification, else the most recent one (to say how the last one ended)."""
    return (
        Verification.objects.filter(incident_id=incident_id)
        .select_related("runbook", "diagnosis", "requested_by")
        .order_by("-created_at", "-id")
        .first()
    )


def enabled_runbooks() -> list[Runbook]:
    return list(Runbook.objects.filter(enabled=True).order_by("name"))


def runbooks_with_steps() -> QuerySet:
    return Runbook.objects.prefetch_related("steps").order_by("name")


def incident_targets(incident) -> list[Target]:
    """Enabled targets of the incident's services (uses the incident's prefetched services)."""
    services = list(incident.services.all())
    return list(
        Target.objects.filter(service__in=services, enabled=True)
        .select_related("service")
        .order_by("service__name", "name")
    )


# --- Remediation actions ----------------------------------------------------------------------

ACTION_PEOPLE = ("previewed_by", "requested_by", "approved_by")


def incident_action_requests(incident_id: int) -> QuerySet:
    """An incident's action requests, newest first, with the people they name (one query)."""
    return (
        ActionRequest.objects.filter(incident_id=incident_id)
        .select_related(*ACTION_PEOPLE)
        .order_by("-created_at", "-id")
    )


def action_for_page(pk: int) -> ActionRequest | None:
    return (
        ActionRequest.objects.select_related("incident", "target__service", *ACTION_PEOPLE)
        .filter(pk=pk)
        .first()
    )


@dataclass
class ApplicableAction:
    """An action that can act on some of the incident's targets (those of its kind)."""

    action: Action
    targets: list[Target]


def applicable_actions(targets: list[Target]) -> list[ApplicableAction]:
    """Registered actions whose kind matches one of `targets`, by kind then title."""
    by_kind: dict[str, list[Target]] = {}
    for target in targets:
        by_kind.setdefault(target.kind, []).append(target)
    found = [
        ApplicableAction(action=action, targets=by_kind[action.kind])
        for action in action_registry.all()
        if action.kind in by_kind
    ]
    return sorted(found, key=lambda item: (item.action.kind, item.action.title))


# --- Shaping runs for display -------------------------------------------------------------------


@dataclass
class StepGroup:
    """The runs of one runbook step (one probe, on each target it applies to)."""

    title: str
    probe: str
    runs: list[ProbeRun] = field(default_factory=list)

    @property
    def status(self) -> str:
        done = [run.status for run in self.runs if run.state == RunState.DONE]
        return Status.worst(done) if len(done) == len(self.runs) else ""


def step_groups(runs: list[ProbeRun]) -> list[StepGroup]:
    """Consecutive runs of the same step grouped, in plan order (runs are planned step by step)."""
    groups: list[StepGroup] = []
    current_key = None
    for run in runs:
        key = (run.step_id, run.step_title, run.probe)
        if key != current_key:
            title = run.step_title or _probe_title(run.probe)
            groups.append(StepGroup(title=title, probe=run.probe))
            current_key = key
        groups[-1].runs.append(run)
    return groups


def worst_first(runs: list[ProbeRun]) -> list[ProbeRun]:
    """Critical, error, warning, ok; runs still open last; plan order within a status."""
    return sorted(runs, key=lambda run: (-Status.RANK.get(run.status, -1), run.position, run.pk))


def _probe_title(name: str) -> str:
    return registry.get(name).title if name in registry else name


def pending_proposals_for(incident):
    """Pending status proposals raised by this incident's probes or about its services."""
    return (
        StatusProposal.objects.filter(state=ProposalState.PENDING)
        .filter(Q(incident=incident) | Q(service__in=incident.services.all()))
        .select_related("service")
        .order_by("-updated_at")[:5]
    )
