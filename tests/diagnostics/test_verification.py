"""Evidence gates, verified resolution and the post-resolution watch."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from diagnostics import services, verification
from diagnostics.models import Verification, VerificationState
from incidents.gates import EvidenceRequired
from incidents.models import EventKind, OutboxEvent, Status, TimelineEvent
from incidents.services import incident_declare, incident_transition

from .conftest import result

pytestmark = pytest.mark.django_db


def declare(commander, services_, severity="P1"):
    incident = incident_declare(
        title="Checkout failing",
        severity=severity,
        by=commander,
        commander=commander,
        services=services_,
    )
    incident = incident_transition(incident=incident, to=Status.ACKNOWLEDGED, by=commander)
    return incident_transition(incident=incident, to=Status.INVESTIGATING, by=commander)


def last_status_change(incident):
    return (
        TimelineEvent.objects.filter(
            incident=incident, kind__in=[EventKind.STATUS_CHANGE, EventKind.REOPENED]
        )
        .order_by("-seq")
        .first()
    )


class TestEvidenceGate:
    def test_p1_cannot_start_mitigating_without_a_finished_diagnosis(self, checkout, commander):
        incident = declare(commander, [checkout])
        with pytest.raises(EvidenceRequired) as caught:
            incident_transition(incident=incident, to=Status.MITIGATING, by=commander)
        [failed] = caught.value.failed
        assert failed.name == "diagnosis" and not failed.passed
        assert failed.evidence.startswith("P1 policy: mitigation needs a finished diagnosis run")
        incident.refresh_from_db()
        assert incident.status == Status.INVESTIGATING

    def test_a_commanders_waiver_lets_it_through_and_is_recorded(self, checkout, commander):
        incident = declare(commander, [checkout])
        incident_transition(
            incident=incident,
            to=Status.MITIGATING,
            by=commander,
            waiver="Obvious bad deploy; rolling back now.",
        )
        event = last_status_change(incident)
        assert event.data["to"] == Status.MITIGATING
        assert event.data["waiver"] == "Obvious bad deploy; rolling back now."
        assert event.data["gates"][0]["name"] == "diagnosis"
        assert event.data["gates"][0]["passed"] is False

    def test_a_finished_diagnosis_is_the_evidence(self, run_inline, committed, checkout, commander):
        incident = declare(commander, [checkout])
        web = checkout.targets.get(name="web")
        diagnosis = committed(
            services.probe_start,
            probe="test.scripted",
            target=web,
            params={},
            by=commander,
            incident=incident,
        )
        incident_transition(incident=incident, to=Status.MITIGATING, by=commander)
        gate = last_status_change(incident).data["gates"][0]
        assert gate["passed"] is True
        assert gate["evidence"].startswith(f"Diagnosis “{diagnosis.title}” (ok) finished")
        assert "waiver" not in last_status_change(incident).data

    def test_an_unfinished_diagnosis_is_not_evidence(self, checkout, commander):
        incident = declare(commander, [checkout])
        web = checkout.targets.get(name="web")
        services.probe_start(  # queued, no worker: not finished
            probe="test.scripted", target=web, params={}, by=commander, incident=incident
        )
        with pytest.raises(EvidenceRequired):
            incident_transition(incident=incident, to=Status.MITIGATING, by=commander)

    def test_lower_severities_have_no_gate(self, checkout, commander):
        incident = declare(commander, [checkout], severity="P2")
        incident_transition(incident=incident, to=Status.MITIGATING, by=commander)
        assert "gates" not in last_status_change(incident).data


class TestVerifiedResolution:
    def test_resolves_only_when_the_health_probes_pass_then_watches(
        self, run_inline, committed, checkout, commander
    ):
        incident = declare(commander, [checkout], severity="P2")
        found = committed(
            verification.verification_request, incident=incident, by=commander, watch_minutes=30
        )
        found.refresh_from_db()
        incident.refresh_from_db()
        assert incident.status == Status.RESOLVED
        assert found.state == VerificationState.WATCHING
        assert found.watch_until == found.diagnosis.finished_at + timedelta(minutes=30)
        resolved = last_status_change(incident)
        assert resolved.data["to"] == Status.RESOLVED and resolved.author == commander
        assert resolved.body.startswith("Verified: Verification: the affected services' health")
        phases = [
            e.data.get("phase")
            for e in TimelineEvent.objects.filter(incident=incident).order_by("seq")
            if e.kind == EventKind.PROBE_RESULT
        ]
        assert phases == [
            "verification_requested",
            "started",
            *["result"] * 4,  # http.health and the scripted check on each of two targets
            "summary",
            "watch_started",
        ]

    def test_a_failing_verification_keeps_the_incident_open(
        self, run_inline, committed, checkout, commander, scripted_probes
    ):
        scripted_probes["api"] = result("critical", "still 503")
        incident = declare(commander, [checkout], severity="P2")
        found = committed(verification.verification_request, incident=incident, by=commander)
        found.refresh_from_db()
        incident.refresh_from_db()
        assert found.state == VerificationState.FAILED
        assert incident.status == Status.INVESTIGATING
        # The failure is announced; the critical result also proposes a status (unpublished).
        proposed, failed = TimelineEvent.objects.filter(incident=incident).order_by("-seq")[:2]
        assert (failed.data["phase"], proposed.data["phase"]) == (
            "verification_failed",
            "status_proposed",
        )
        assert failed.body == (
            f"Verification failed (4 probes: 1 critical, 3 ok): {incident.ref} stays investigating."
        )

    def test_the_watch_reopens_on_a_regression_and_tells_the_commander(
        self, run_inline, committed, checkout, commander, scripted_probes
    ):
        incident = declare(commander, [checkout], severity="P2")
        found = committed(verification.verification_request, incident=incident, by=commander)
        scripted_probes["web"] = result("critical", "503 again")
        Verification.objects.filter(pk=found.pk).update(next_check_at=timezone.now())
        assert committed(verification.watches_due) == 1
        found.refresh_from_db()
        incident.refresh_from_db()
        assert found.state == VerificationState.REGRESSED
        assert incident.status == Status.INVESTIGATING
        reopened = last_status_change(incident)
        assert reopened.kind == EventKind.REOPENED
        assert reopened.body.startswith("Reopened: the post-resolution watch found a regression")
        notice = OutboxEvent.objects.get(topic="incident.regressed")
        assert notice.payload["commander_id"] == commander.pk
        assert notice.incident_id == incident.pk

    def test_the_watch_passes_after_its_period(self, run_inline, committed, checkout, commander):
        incident = declare(commander, [checkout], severity="P2")
        found = committed(verification.verification_request, incident=incident, by=commander)
        past = timezone.now() - timedelta(minutes=1)
        Verification.objects.filter(pk=found.pk).update(next_check_at=past, watch_until=past)
        assert committed(verification.watches_due) == 1
        found.refresh_from_db()
        assert found.state == VerificationState.PASSED and found.checks_passed == 1
        incident.refresh_from_db()
        assert incident.status == Status.RESOLVED

    def test_the_watch_stops_when_the_incident_is_closed_or_reopened_by_hand(
        self, run_inline, committed, checkout, commander
    ):
        incident = declare(commander, [checkout], severity="P2")
        found = committed(verification.verification_request, incident=incident, by=commander)
        incident_transition(incident=incident, to=Status.CLOSED, by=commander)
        Verification.objects.filter(pk=found.pk).update(next_check_at=timezone.now())
        assert committed(verification.watches_due) == 0
        found.refresh_from_db()
        assert found.state == VerificationState.CANCELLED

    def test_one_verification_at_a_time_and_only_where_resolving_is_legal(
        self, checkout, commander
    ):
        incident = declare(commander, [checkout], severity="P2")
        verification.verification_request(incident=incident, by=commander)  # queued
        with pytest.raises(services.DiagnosticsError) as caught:
            verification.verification_request(incident=incident, by=commander)
        assert caught.value.code == "already_verifying"
        closed = declare(commander, [checkout], severity="P2")
        incident_transition(incident=closed, to=Status.RESOLVED, by=commander)
        incident_transition(incident=closed, to=Status.CLOSED, by=commander)
        with pytest.raises(services.DiagnosticsError) as caught:
            verification.verification_request(incident=closed, by=commander)
        assert caught.value.code == "illegal_transition"

    def test_nothing_to_verify_with_is_said_plainly(self, commander):
        incident = declare(commander, [])
        with pytest.raises(services.DiagnosticsError) as caught:
            verification.verification_request(incident=incident, by=commander)
        assert caught.value.code == "nothing_to_verify"


def test_the_gate_and_the_waiver_are_shown_on_the_timeline(client, checkout, commander):
    incident = declare(commander, [checkout])
    incident_transition(
        incident=incident,
        to=Status.MITIGATING,
        by=commander,
        waiver="Obvious bad deploy <b>now</b>.",
    )
    client.force_login(commander)
    html = client.get(f"/incidents/{incident.number}/").content.decode()
    assert (
        "Evidence gate not met</strong>: P1 policy: mitigation needs a finished diagnosis" in html
    )
    assert (
        "Went ahead without the evidence:</strong> Obvious bad deploy &lt;b&gt;now&lt;/b&gt;."
        in html
    )
