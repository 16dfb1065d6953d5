"""Who may do what on the diagnostics pages, for every role: viewers read, responders also
re-run a run already made, commanders start runbooks, probes, health checks and verified
resolution and edit runbooks. Anonymous requests go to the login page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from diagnostics.models import Diagnosis, Runbook
from diagnostics.verification import verification_request

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "viewer", "responder", "commander", "admin"]
READ = dict(anonymous=302, viewer=200, responder=200, commander=200, admin=200)
MANAGE = dict(anonymous=302, viewer=403, responder=403, commander=200, admin=200)
START = dict(anonymous=302, viewer=403, responder=403, commander=302, admin=302)
RERUN = dict(anonymous=302, viewer=403, responder=302, commander=302, admin=302)


@pytest.fixture
def world(incident, finished_set, commander, checkout, http_target):
    diagnosis = finished_set(1)
    return {
        "incident": incident,
        "diagnosis": diagnosis,
        "run": diagnosis.runs.get(),
        "runbook": Runbook.objects.get(symptom="service_unavailable"),
        "service": checkout,
        "target": http_target,
    }


PAGES = {
    "diagnostics:list": (lambda w: [], READ),
    "diagnostics:probes": (lambda w: [], READ),
    "diagnostics:runbooks": (lambda w: [], READ),
    "diagnostics:incident": (lambda w: [w["incident"].number], READ),
    "diagnostics:diagnosis": (lambda w: [w["diagnosis"].pk], READ),
    "diagnostics:run": (lambda w: [w["run"].pk], READ),
    "diagnostics:runbook_new": (lambda w: [], MANAGE),
    "diagnostics:runbook_edit": (lambda w: [w["runbook"].pk], MANAGE),
}


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("persona", ROLES, indirect=True)
def test_pages_by_role(client, persona, world, name, request):
    args_of, expected = PAGES[name]
    if persona is not None:
        client.force_login(persona)
    response = client.get(reverse(name, args=args_of(world)))
    role = request.node.callspec.params["persona"]
    assert response.status_code == expected[role]
    if role == "anonymous":
        assert response["Location"].startswith(reverse("login"))


ACTIONS = {
    "diagnostics:runbook_run": (
        lambda w: [w["incident"].number],
        lambda w: {"runbook": w["runbook"].pk},
        START,
    ),
    "diagnostics:probe_run_start": (
        lambda w: [w["incident"].number],
        lambda w: {"probe_target": f"{w['target'].pk}:http.health"},
        START,
    ),
    "diagnostics:health_check": (lambda w: [w["service"].slug], lambda w: {}, START),
    "diagnostics:run_again": (lambda w: [w["run"].pk], lambda w: {}, RERUN),
    "diagnostics:verify_resolution": (
        lambda w: [w["incident"].number],
        lambda w: {"runbook": "", "watch_minutes": "0"},
        START,
    ),
}


@pytest.mark.parametrize("name", ACTIONS)
@pytest.mark.parametrize("persona", ROLES, indirect=True)
def test_actions_by_role(client, persona, world, name, request):
    args_of, data_of, expected = ACTIONS[name]
    before = Diagnosis.objects.count()
    if persona is not None:
        client.force_login(persona)
    response = client.post(reverse(name, args=args_of(world)), data_of(world))
    role = request.node.callspec.params["persona"]
    assert response.status_code == expected[role]
    started = Diagnosis.objects.count() - before
    assert started == (1 if expected[role] == 302 and role != "anonymous" else 0)


@pytest.mark.parametrize("persona", ROLES, indirect=True)
def test_cancelling_a_verification_is_the_commanders(client, persona, world, commander, request):
    verification = verification_request(incident=world["incident"], by=commander, watch_minutes=0)
    if persona is not None:
        client.force_login(persona)
    response = client.post(reverse("diagnostics:verification_cancel", args=[verification.pk]))
    role = request.node.callspec.params["persona"]
    assert response.status_code == START[role]
    verification.refresh_from_db()
    assert verification.state == (
        "cancelled" if START[role] == 302 and role != "anonymous" else "verifying"
    )


@pytest.mark.parametrize("name", ["diagnostics:runbook_run", "diagnostics:run_again"])
def test_actions_refuse_get(client, commander, world, name):
    args_of = ACTIONS[name][0]
    client.force_login(commander)
    assert client.get(reverse(name, args=args_of(world))).status_code == 405


def test_viewer_sees_results_but_no_start_or_rerun_buttons(client, viewer, world):
    client.force_login(viewer)
    html = client.get(reverse("diagnostics:incident", args=[world["incident"].number])).content
    html = html.decode()
    assert "2 of 5 pods ready" in html
    assert "Run again" not in html and "Run one probe" not in html
    assert "Resolve after verification" not in html


def test_responder_may_rerun_but_not_start(client, responder, world):
    client.force_login(responder)
    html = client.get(reverse("diagnostics:incident", args=[world["incident"].number])).content
    html = html.decode()
    assert "Run again" in html
    assert "Run a runbook" not in html and "Run one probe" not in html


def test_commander_sees_every_start_button(client, commander, world):
    client.force_login(commander)
    html = client.get(reverse("diagnostics:incident", args=[world["incident"].number])).content
    html = html.decode()
    for text in (
        "Run “Service unavailable (503)”",
        "Run a runbook",
        "Run one probe",
        "Resolve after verification",
        "Run again",
    ):
        assert text in html
