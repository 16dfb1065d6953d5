"""Proposed component statuses from critical probe results — suggested, never published.

When a finished probe set has critical runs on the targets of a service shown on the status
page, the service gets one pending proposal (partial outage, or major outage when every run on it
was critical) with the runs as evidence, and the incident's timeline says so. A commander
approves it (the component status changes, publicly) or dismisses it with a reason.
"""

from __future__ import annotations

from collections import defaultdict

from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.models import STATUS_SEVERITY, ComponentStatus, Service
from catalog.services import service_set_status
from incidents.models import EventKind
from incidents.services import timeline_append

from .models import Diagnosis, ProbeStatus, ProposalState, StatusProposal

MAX_EVIDENCE = 20


class ProposalError(Exception):
    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.code = code


def _proposed(statuses: list[str]) -> ComponentStatus:
    if statuses and all(status == ProbeStatus.CRITICAL for status in statuses):
        return ComponentStatus.MAJOR_OUTAGE
    return ComponentStatus.PARTIAL_OUTAGE


def _evidence(run) -> dict:
    return {
        "run_id": run.pk,
        "probe": run.probe,
        "target": run.target_label,
        "status": run.status,
        "summary": run.summary,
    }


def propose_from_diagnosis(diagnosis: Diagnosis) -> list[StatusProposal]:
    """on_diagnosis_complete listener: propose statuses for public services with critical runs
    (inside the transaction that finished the set)."""
    runs = list(diagnosis.runs.filter(target__isnull=False).select_related("target__service"))
    by_service: dict[Service, list] = defaultdict(list)
    for run in runs:
        if run.target.service.show_on_status_page:
            by_service[run.target.service].append(run)
    proposals = []
    for service, service_runs in by_service.items():
        critical = [run for run in service_runs if run.status == ProbeStatus.CRITICAL]
        if not critical:
            continue
        proposed = _proposed([run.status for run in service_runs])
        if STATUS_SEVERITY[ComponentStatus(service.status)] >= STATUS_SEVERITY[proposed]:
            continue  # already saying as much (or more) publicly
        proposals.append(_propose(service, proposed, critical, diagnosis))
    return proposals


def _propose(service, proposed, critical, diagnosis) -> StatusProposal:
    evidence = [_evidence(run) for run in critical]
    with transaction.atomic():
        pending = (
            StatusProposal.objects.select_for_update()
            .filter(service=service, state=ProposalState.PENDING)
            .first()
        )
        if pending is None:
            try:
                with transaction.atomic():
                    pending = StatusProposal.objects.create(
                        service=service,
                        incident_id=diagnosis.incident_id,
                        proposed_status=proposed,
                        current_status=service.status,
                        evidence=evidence[-MAX_EVIDENCE:],
                    )
            except IntegrityError:  # a concurrent set proposed first: add to it
                pending = StatusProposal.objects.select_for_update().get(
                    service=service, state=ProposalState.PENDING
                )
                _add_evidence(pending, proposed, evidence, diagnosis)
        else:
            _add_evidence(pending, proposed, evidence, diagnosis)
        if diagnosis.incident_id:
            timeline_append(
                incident_id=diagnosis.incident_id,
                kind=EventKind.PROBE_RESULT,
                body=f"Proposed status for {service.public_name}: "
                f"{ComponentStatus(pending.proposed_status).label.lower()} "
                f"({len(evidence)} critical probe result{'s' if len(evidence) != 1 else ''}). "
                "Not published until a commander approves it.",
                data={
                    "phase": "status_proposed",
                    "proposal_id": pending.pk,
                    "service": service.pk,
                    "proposed_status": pending.proposed_status,
                    "runs": [item["run_id"] for item in evidence],
                },
            )
    return pending


def _add_evidence(pending, proposed, evidence, diagnosis) -> None:
    if STATUS_SEVERITY[proposed] > STATUS_SEVERITY[ComponentStatus(pending.proposed_status)]:
        pending.proposed_status = proposed
    pending.evidence = (pending.evidence + evidence)[-MAX_EVIDENCE:]
    if pending.incident_id is None:
        pending.incident_id = diagnosis.incident_id
    pending.save()


def _decide(proposal: StatusProposal) -> StatusProposal:
    locked = (
        StatusProposal.objects.select_for_update().select_related("service").get(pk=proposal.pk)
    )
    if locked.state != ProposalState.PENDING:
        raise ProposalError(f"This proposal was already {locked.state}.", code="decided")
    return locked


@transaction.atomic
def proposal_approve(*, proposal: StatusProposal, by, now=None) -> StatusProposal:
    """Publish the proposed status on the component (the status page shows it at once)."""
    now = now or timezone.now()
    proposal = _decide(proposal)
    service_set_status(service=proposal.service, status=proposal.proposed_status, now=now)
    proposal.state = ProposalState.APPROVED
    proposal.decided_by, proposal.decided_at = by, now
    proposal.save()
    _log(
        proposal,
        f"approved: {proposal.service.public_name} is now shown as "
        f"{ComponentStatus(proposal.proposed_status).label.lower()}.",
        by,
        now,
    )
    return proposal


@transaction.atomic
def proposal_dismiss(*, proposal: StatusProposal, by, reason: str = "", now=None):
    now = now or timezone.now()
    proposal = _decide(proposal)
    proposal.state = ProposalState.DISMISSED
    proposal.decided_by, proposal.decided_at = by, now
    proposal.reason = reason.strip()[:500]
    proposal.save()
    _log(
        proposal,
        f"dismissed for {proposal.service.public_name}"
        + (f": {proposal.reason}" if proposal.reason else "."),
        by,
        now,
    )
    return proposal


def _log(proposal: StatusProposal, text: str, by, now) -> None:
    if proposal.incident_id is None:
        return
    timeline_append(
        incident_id=proposal.incident_id,
        kind=EventKind.PROBE_RESULT,
        body=f"Proposed status {text}",
        data={"phase": f"status_{proposal.state}", "proposal_id": proposal.pk},
        author=by,
        now=now,
    )
