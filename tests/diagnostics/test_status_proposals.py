"""Proposed component statuses: critical probe results suggest one; only a commander publishes."""

from __future__ import annotations

import pytest

from accounts.permissions import Role
from catalog.models import ComponentStatus, Target
from diagnostics.models import ProposalState, Runbook, RunbookStep, StatusProposal
from diagnostics.services import probe_start, runbook_start
from diagnostics.status_proposals import ProposalError, proposal_approve, proposal_dismiss
from incidents.services import incident_declare
from tests.factories import ServiceFactory

from .conftest import result

pytestmark = pytest.mark.django_db


@pytest.fixture
def runbook(db):
    runbook = Runbook.objects.create(name="Look", slug="look", symptom="other")
    RunbookStep.objects.create(runbook=runbook, position=0, title="Look", probe="test.scripted")
    return runbook


@pytest.fixture
def incident(checkout, commander):
    return incident_declare(
        title="Checkout failing", severity="P1", by=commander, services=[checkout]
    )


def run(runbook, incident, capture):
    with capture(execute=True):
        return runbook_start(runbook=runbook, incident=incident, trigger="test")


def test_critical_results_propose_a_status_without_publishing_it(
    run_inline, runbook, incident, checkout, scripted_probes, django_capture_on_commit_callbacks
):
    scripted_probes["web"] = result("critical", "5xx at 40%")
    scripted_probes["api"] = result("ok", "fine")
    run(runbook, incident, django_capture_on_commit_callbacks)
    proposal = StatusProposal.objects.get()
    assert proposal.proposed_status == ComponentStatus.PARTIAL_OUTAGE
    assert proposal.state == ProposalState.PENDING and proposal.incident == incident
    assert [e["summary"] for e in proposal.evidence] == ["5xx at 40%"]
    checkout.refresh_from_db()
    assert checkout.status == ComponentStatus.OPERATIONAL  # never published by itself
    event = incident.events.get(data__phase="status_proposed")
    assert "Not published until a commander approves it" in event.body


def test_all_runs_critical_proposes_a_major_outage_and_later_sets_add_evidence(
    run_inline, runbook, incident, scripted_probes, django_capture_on_commit_callbacks
):
    scripted_probes["web"] = result("critical", "down")
    scripted_probes["api"] = result("critical", "down too")
    run(runbook, incident, django_capture_on_commit_callbacks)
    run(runbook, incident, django_capture_on_commit_callbacks)
    proposal = StatusProposal.objects.get()  # one pending proposal per service
    assert proposal.proposed_status == ComponentStatus.MAJOR_OUTAGE
    assert len(proposal.evidence) == 4


def test_no_proposal_for_warnings_hidden_services_or_a_status_already_as_bad(
    run_inline, runbook, incident, checkout, scripted_probes, django_capture_on_commit_callbacks
):
    scripted_probes["web"] = result("warning", "slow")
    run(runbook, incident, django_capture_on_commit_callbacks)
    assert not StatusProposal.objects.exists()
    scripted_probes["web"] = result("critical", "down")
    checkout.status = ComponentStatus.MAJOR_OUTAGE
    checkout.save()
    run(runbook, incident, django_capture_on_commit_callbacks)
    assert not StatusProposal.objects.exists()
    hidden = ServiceFactory(show_on_status_page=False)
    target = Target.objects.create(service=hidden, name="web", kind="http", config={"url": "x"})
    with django_capture_on_commit_callbacks(execute=True):
        probe_start(probe="test.scripted", target=target, params={}, by=None)
    assert not StatusProposal.objects.exists()


def test_approving_publishes_and_dismissing_records_why(
    run_inline,
    runbook,
    incident,
    checkout,
    commander,
    scripted_probes,
    django_capture_on_commit_callbacks,
):
    scripted_probes["web"] = result("critical", "down")
    run(runbook, incident, django_capture_on_commit_callbacks)
    proposal = StatusProposal.objects.get()
    proposal_approve(proposal=proposal, by=commander)
    checkout.refresh_from_db()
    assert checkout.status == ComponentStatus.PARTIAL_OUTAGE
    assert checkout.status_changes.get().status == "partial_outage"
    with pytest.raises(ProposalError):
        proposal_dismiss(proposal=proposal, by=commander)

    checkout.status = ComponentStatus.OPERATIONAL
    checkout.save()
    run(runbook, incident, django_capture_on_commit_callbacks)
    second = StatusProposal.objects.get(state=ProposalState.PENDING)
    proposal_dismiss(proposal=second, by=commander, reason="Canary only")
    second.refresh_from_db()
    assert second.state == ProposalState.DISMISSED and second.reason == "Canary only"


@pytest.mark.parametrize(
    ("role", "read", "decide"),
    [
        (None, 401, 401),
        (Role.VIEWER, 200, 403),
        (Role.RESPONDER, 200, 403),
        (Role.COMMANDER, 200, 200),
        (Role.ADMIN, 200, 200),
    ],
)
def test_api_role_table(api_as, make_user, checkout, role, read, decide):
    proposal = StatusProposal.objects.create(
        service=checkout, proposed_status="partial_outage", current_status="operational"
    )
    client = api_as(make_user(role) if role else None)
    assert client.get("/api/v1/status-proposals/").status_code == read
    assert client.post(f"/api/v1/status-proposals/{proposal.pk}/dismiss/").status_code == decide
    if decide == 200:
        again = client.post(f"/api/v1/status-proposals/{proposal.pk}/approve/")
        assert again.status_code == 409 and again.json()["type"] == "decided"


@pytest.mark.parametrize(
    ("role", "list_code", "post_code"),
    [
        (None, 302, 302),
        (Role.VIEWER, 200, 403),
        (Role.RESPONDER, 200, 403),
        (Role.COMMANDER, 200, 302),
        (Role.ADMIN, 200, 302),
    ],
)
def test_pages_role_table(client, make_user, checkout, role, list_code, post_code):
    proposal = StatusProposal.objects.create(
        service=checkout, proposed_status="partial_outage", current_status="operational"
    )
    if role:
        client.force_login(make_user(role))
    assert client.get("/diagnostics/status-proposals/").status_code == list_code
    response = client.post(f"/diagnostics/status-proposals/{proposal.pk}/approve/")
    assert response.status_code == post_code
