"""Diagnostics on the incident page: the panel, probe results on the timeline, starting runs,
verified resolution, and the evidence gate's "go ahead without evidence" flow."""

from __future__ import annotations

import pytest
from django.urls import reverse

from diagnostics.models import Diagnosis, ProbeRun, Runbook, Verification
from diagnostics.verification import verification_request
from incidents.models import EventKind, Incident, TimelineEvent
from incidents.services import incident_transition

pytestmark = pytest.mark.django_db


def _page(client, user, incident) -> str:
    client.force_login(user)
    response = client.get(reverse("incidents:detail", args=[incident.number]))
    assert response.status_code == 200
    return response.content.decode()


def _panel(html: str) -> str:
    return html.split('id="panel-diagnostics"')[1].split("</section>")[0]


def _messages(response) -> list[str]:
    """The messages shown on the page the response (followed to its end) rendered."""
    return [str(message) for message in response.context["messages"]]


# --- the panel ---------------------------------------------------------------------------------


def test_panel_lists_the_latest_sets_worst_run_first(client, viewer, incident, finished_set):
    finished_set(3, bad_at=2)
    panel = _panel(_page(client, viewer, incident))
    assert "Runbook: test set" in panel and "3 probes: 1 critical, 2 ok" in panel
    runs = panel.split('class="dx-panel-runs"')[1]
    assert runs.index(">Step 3</a>") < runs.index(">Step 1</a>") < runs.index(">Step 2</a>")
    assert '<span class="pstatus pstatus-critical">Critical</span> <a' in runs
    assert "2 of 5 pods ready" in panel
    assert "Run one probe" not in panel  # viewers start nothing


def test_panel_offers_the_symptom_runbook_and_verification_to_commanders(
    client, commander, incident
):
    panel = _panel(_page(client, commander, incident))
    assert "No probes have run on this incident yet." in panel
    assert "Run “Service unavailable (503)”" in panel
    assert "Run a runbook" in panel and "Checkout / api (http)" in panel
    assert "Resolve after verification" in panel


def test_panel_shows_an_active_verification_with_its_cancel_button(client, commander, incident):
    verification_request(incident=incident, by=commander, watch_minutes=10)
    panel = _panel(_page(client, commander, incident))
    assert "Verifying before resolve" in panel and "Cancel verification" in panel
    assert "Resolve after verification" not in panel  # one at a time


# --- the timeline ------------------------------------------------------------------------------


def test_timeline_shows_each_result_and_the_summary_with_words_and_links(
    client, viewer, incident, finished_set
):
    diagnosis = finished_set(2)
    runs = list(diagnosis.runs.order_by("position"))
    client.force_login(viewer)
    html = client.get(reverse("incidents:timeline", args=[incident.number])).content.decode()
    probe_events = html.split('class="event event-probe_result')[1:]
    # started, two results, summary, and the status the critical result proposes (unpublished)
    assert len(probe_events) == 5
    started, first, second, summary, proposed = probe_events
    assert "Not published until a commander approves it" in proposed
    assert "Started" in started and reverse("diagnostics:diagnosis", args=[diagnosis.pk]) in started
    assert "event-pstatus-critical" in first and ">Critical</span>" in first
    assert "Step 1</strong> on Checkout / api: 2 of 5 pods ready" in first
    assert reverse("diagnostics:run", args=[runs[0].pk]) in first
    assert ">OK</span>" in second
    assert "Runbook: test set</strong> finished" in summary
    assert "1 critical" in summary and "1 ok" in summary
    assert summary.index("Step 1") < summary.index("Step 2")  # worst first


def test_timeline_says_when_a_result_changed_since_the_baseline(
    client, viewer, incident, finished_set
):
    finished_set(1, status="ok")
    finished_set(1)
    client.force_login(viewer)
    html = client.get(reverse("incidents:timeline", args=[incident.number])).content.decode()
    assert "since the last OK run: 2 new findings, 1 check worse" in html


# --- starting from the page --------------------------------------------------------------------


def test_commander_runs_the_symptom_runbook_from_the_incident_page(
    client, commander, incident, health_server, run_inline
):
    health_server.broken()
    runbook = Runbook.objects.get(symptom="service_unavailable")
    page = reverse("incidents:detail", args=[incident.number])
    client.force_login(commander)
    with run_inline():
        response = client.post(
            reverse("diagnostics:runbook_run", args=[incident.number]),
            {"runbook": runbook.pk, "next": page},
        )
    assert response["Location"] == page
    diagnosis = Diagnosis.objects.get(incident=incident)
    assert diagnosis.finished and diagnosis.status == "critical"
    run = diagnosis.runs.get()  # only http.health applies: the service has one HTTP target
    assert run.probe == "http.health" and "HTTP 503" in run.summary
    html = client.get(page).content.decode()
    assert "Runbook “Service unavailable (503)”: 1 probe started." in html
    assert "failing checks: database (down), queue (down)" in _panel(html)


def test_single_probe_with_bad_params_is_a_message_not_a_500(
    client, commander, incident, http_target
):
    client.force_login(commander)
    response = client.post(
        reverse("diagnostics:probe_run_start", args=[incident.number]),
        {"probe_target": f"{http_target.pk}:http.health", "params": '{"latency_warning_ms": -1}'},
        follow=True,
    )
    assert response.status_code == 200
    [message] = _messages(response)
    assert message.startswith("Invalid parameters for http.health.")
    assert "latency_warning_ms" in message
    assert not Diagnosis.objects.exists()


def test_single_probe_only_on_the_incidents_targets(client, commander, incident):
    from tests.factories import TargetFactory

    elsewhere = TargetFactory()
    client.force_login(commander)
    response = client.post(
        reverse("diagnostics:probe_run_start", args=[incident.number]),
        {"probe_target": f"{elsewhere.pk}:http.health"},
        follow=True,
    )
    assert "Could not start the probe" in _messages(response)[0]
    assert not Diagnosis.objects.exists()


def test_single_probe_runs_and_lands_on_the_diagnostics_page(
    client, commander, incident, http_target, run_inline
):
    client.force_login(commander)
    with run_inline():
        response = client.post(
            reverse("diagnostics:probe_run_start", args=[incident.number]),
            {"probe_target": f"{http_target.pk}:http.health", "params": ""},
        )
    assert response["Location"] == reverse("diagnostics:incident", args=[incident.number])
    run = ProbeRun.objects.get()
    assert run.status == "ok" and "all 2 reported checks ok" in run.summary
    html = client.get(response["Location"]).content.decode()
    assert "HTTP health on api: 1 probe started." in html
    assert "all 2 reported checks ok" in html


def test_run_again_by_a_responder(client, responder, incident, finished_set, run_inline):
    run = finished_set(1).runs.get()
    client.force_login(responder)
    with run_inline():
        response = client.post(reverse("diagnostics:run_again", args=[run.pk]))
    again = ProbeRun.objects.exclude(pk=run.pk).get()
    assert response["Location"] == reverse("diagnostics:diagnosis", args=[again.diagnosis_id])
    assert again.status == "ok" and again.params == run.params
    assert again.diagnosis.trigger == f"re-run of probe run {run.pk} by {responder.username}"


def test_open_redirects_are_refused(client, commander, incident, http_target):
    client.force_login(commander)
    response = client.post(
        reverse("diagnostics:probe_run_start", args=[incident.number]),
        {"probe_target": f"{http_target.pk}:http.health", "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("diagnostics:incident", args=[incident.number])


# --- verified resolution -----------------------------------------------------------------------


def test_verify_resolution_resolves_when_the_health_probes_pass(
    client, commander, incident, run_inline
):
    client.force_login(commander)
    with run_inline():
        response = client.post(
            reverse("diagnostics:verify_resolution", args=[incident.number]),
            {"runbook": "", "watch_minutes": "15", "note": "rolled back"},
        )
    assert response["Location"] == reverse("diagnostics:incident", args=[incident.number])
    incident.refresh_from_db()
    assert incident.status == "resolved"
    verification = Verification.objects.get()
    assert verification.state == "watching" and verification.watch_minutes == 15
    assert verification.note == "rolled back"
    assert "Watching after resolve" in _panel(_page(client, commander, incident))


# Transactional: the probes run when the request's transaction commits, as they do in `make run`
# (inline), so the message the page shows can say how the verification ended.
@pytest.mark.django_db(transaction=True)
def test_verify_resolution_keeps_the_incident_open_when_probes_fail(
    client, commander, incident, health_server, inline_runs
):
    health_server.broken()
    client.force_login(commander)
    response = client.post(
        reverse("diagnostics:verify_resolution", args=[incident.number]),
        {"runbook": "", "watch_minutes": "0"},
        follow=True,
    )
    incident.refresh_from_db()
    assert incident.status == "triggered"
    assert Verification.objects.get().state == "failed"
    assert _messages(response) == [
        f"Verification failed (1 probe: 1 critical): {incident.ref} was not resolved."
    ]


@pytest.mark.django_db(transaction=True)
def test_verified_message_when_the_probes_pass_at_once(client, commander, incident, inline_runs):
    client.force_login(commander)
    response = client.post(
        reverse("diagnostics:verify_resolution", args=[incident.number]),
        {"runbook": "", "watch_minutes": "0"},
        follow=True,
    )
    assert _messages(response) == [f"Verified: {incident.ref} is resolved."]
    assert Verification.objects.get().state == "passed"


def test_verify_resolution_form_errors_and_conflicts_are_messages(client, commander, incident):
    client.force_login(commander)
    url = reverse("diagnostics:verify_resolution", args=[incident.number])
    response = client.post(url, {"runbook": "999999", "watch_minutes": "-1"}, follow=True)
    [message] = _messages(response)
    assert "Pick an enabled runbook." in message and "watch_minutes" in message
    first = client.post(url, {"runbook": "", "watch_minutes": "5"}, follow=True)
    assert _messages(first) == [f"Verifying: {incident.ref} resolves once the probes pass."]
    again = client.post(url, {"runbook": "", "watch_minutes": "5"}, follow=True)
    assert _messages(again) == [f"{incident.ref} is already being verified or watched."]


def test_cancel_verification_from_the_page(client, commander, incident):
    verification = verification_request(incident=incident, by=commander, watch_minutes=0)
    client.force_login(commander)
    response = client.post(
        reverse("diagnostics:verification_cancel", args=[verification.pk]), follow=True
    )
    assert "Verification cancelled: the incident stays as it is." in _messages(response)
    assert Verification.objects.get().state == "cancelled"
    again = client.post(
        reverse("diagnostics:verification_cancel", args=[verification.pk]), follow=True
    )
    assert _messages(again) == ["This verification is no longer active."]


# --- the evidence gate -------------------------------------------------------------------------


@pytest.fixture
def investigating(incident, commander):
    incident_transition(incident=incident, to="acknowledged", by=commander)
    incident_transition(incident=incident, to="investigating", by=commander)
    return Incident.objects.get(pk=incident.pk)


def test_mitigation_without_a_diagnosis_asks_for_evidence_or_a_reason(
    client, commander, investigating
):
    client.force_login(commander)
    url = reverse("incidents:transition", args=[investigating.number])
    response = client.post(url, {"to": "mitigating"})
    assert response.status_code == 409
    html = response.content.decode()
    assert "Start mitigation: evidence needed first" in html
    assert "mitigation needs a finished diagnosis run first" in html
    assert 'name="waiver"' in html and 'name="to" value="mitigating"' in html
    assert Incident.objects.get(pk=investigating.pk).status == "investigating"

    blank = client.post(url, {"to": "mitigating", "waiver": "   "})
    assert blank.status_code == 409
    assert "Give a reason to go ahead without the evidence." in blank.content.decode()

    waived = client.post(url, {"to": "mitigating", "waiver": "Rollback is safe either way"})
    assert waived.status_code == 302
    assert Incident.objects.get(pk=investigating.pk).status == "mitigating"
    event = TimelineEvent.objects.filter(
        incident=investigating, kind=EventKind.STATUS_CHANGE
    ).latest("seq")
    assert event.data["waiver"] == "Rollback is safe either way"
    assert event.data["gates"][0]["passed"] is False


def test_mitigation_after_a_finished_diagnosis_needs_no_reason(
    client, commander, investigating, finished_set
):
    finished_set(1)
    client.force_login(commander)
    response = client.post(
        reverse("incidents:transition", args=[investigating.number]), {"to": "mitigating"}
    )
    assert response.status_code == 302
    assert Incident.objects.get(pk=investigating.pk).status == "mitigating"


# --- the service page --------------------------------------------------------------------------


def test_health_check_button_is_for_commanders(client, viewer, commander, checkout, http_target):
    url = reverse("catalog:service-detail", args=[checkout.slug])
    client.force_login(viewer)
    assert "Run health check" not in client.get(url).content.decode()
    client.force_login(commander)
    html = client.get(url).content.decode()
    assert "Run health check" in html
    assert reverse("diagnostics:health_check", args=[checkout.slug]) in html


def test_health_check_runs_and_lands_on_the_diagnosis(
    client, commander, checkout, http_target, run_inline
):
    client.force_login(commander)
    with run_inline():
        response = client.post(reverse("diagnostics:health_check", args=[checkout.slug]))
    diagnosis = Diagnosis.objects.get(service=checkout)
    assert response["Location"] == reverse("diagnostics:diagnosis", args=[diagnosis.pk])
    assert diagnosis.finished and diagnosis.status == "ok" and diagnosis.incident is None
    html = client.get(response["Location"]).content.decode()
    assert "Health check: Checkout" in html and "HTTP 200" in html
