"""/api/v1/probes/, runbooks/, diagnoses/, probe-runs/, verifications/ and the evidence 409."""

from __future__ import annotations

import pytest

from diagnostics.models import Diagnosis, ProbeRun, Runbook, RunbookStep, Verification
from incidents.models import Status
from incidents.services import incident_declare, incident_transition

from .conftest import result

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(checkout, commander):
    incident = incident_declare(
        title="Checkout failing", severity="P1", by=commander, services=[checkout]
    )
    incident = incident_transition(incident=incident, to=Status.ACKNOWLEDGED, by=commander)
    return incident_transition(incident=incident, to=Status.INVESTIGATING, by=commander)


@pytest.fixture
def runbook(db):
    runbook = Runbook.objects.create(name="Scripted", slug="scripted")
    RunbookStep.objects.create(runbook=runbook, position=0, probe="test.scripted")
    return runbook


def test_probe_catalogue_lists_every_probe_with_its_parameters(api_as, viewer):
    response = api_as(viewer).get("/api/v1/probes/")
    assert response.status_code == 200
    body = response.json()
    names = {probe["name"] for probe in body["results"]}
    assert {"test.scripted", "http.health", "kafka.consumer_lag"} <= names
    assert body["count"] == len(body["results"])
    scripted = api_as(viewer).get("/api/v1/probes/test.scripted/").json()
    assert scripted["kind"] == "http" and scripted["health"] is True
    assert scripted["params"] == [
        {
            "name": "limit",
            "type": "integer",
            "required": False,
            "help_text": "",
            "default": 5,
            "min_value": 1,
            "max_value": 10,
        }
    ]
    assert api_as(viewer).get("/api/v1/probes/?kind=kafka").json()["count"] == 2
    missing = api_as(viewer).get("/api/v1/probes/nope.nothing/")
    assert missing.status_code == 404 and missing.json()["type"] == "not_found"


def test_every_seeded_runbook_step_names_a_real_probe_with_valid_params(api_as, viewer):
    from diagnostics.probes import registry

    runbooks = Runbook.objects.prefetch_related("steps")
    assert runbooks.count() >= 13
    for runbook in runbooks:
        assert runbook.steps.exists(), runbook
        for step in runbook.steps.all():
            assert step.probe in registry, (runbook.name, step.probe)
            registry.get(step.probe).validate_params(step.params)


def test_runbook_crud_validates_probes_and_params(api_as, commander, viewer):
    api = api_as(commander)
    created = api.post(
        "/api/v1/runbooks/",
        {
            "name": "Checkout deep dive",
            "symptom": "",
            "description": "Look everywhere.",
            "steps": [
                {"probe": "test.scripted", "params": {"limit": 2}, "title": "First"},
                {"probe": "http.health", "params": {"timeout_s": 3}},
            ],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["slug"] == "checkout-deep-dive"
    assert [s["probe"] for s in body["steps"]] == ["test.scripted", "http.health"]

    bad = api.post(
        "/api/v1/runbooks/",
        {"name": "Bad", "steps": [{"probe": "test.scripted", "params": {"limit": 99}}]},
        format="json",
    )
    assert bad.status_code == 400
    assert bad.json()["type"] == "validation_error"
    assert "limit" in str(bad.json()["errors"]["steps"])
    unknown = api.post(
        "/api/v1/runbooks/", {"name": "X", "steps": [{"probe": "rm.rf"}]}, format="json"
    )
    assert unknown.status_code == 400 and "probe" in str(unknown.json()["errors"])
    clash = api.post(
        "/api/v1/runbooks/", {"name": "Y", "symptom": "slow_queries", "steps": []}, format="json"
    )
    assert clash.status_code == 400 and "symptom" in clash.json()["errors"]

    replaced = api.patch(
        f"/api/v1/runbooks/{body['id']}/",
        {"steps": [{"probe": "test.scripted"}]},
        format="json",
    )
    assert replaced.status_code == 200
    assert [s["probe"] for s in replaced.json()["steps"]] == ["test.scripted"]
    assert api_as(viewer).delete(f"/api/v1/runbooks/{body['id']}/").status_code == 403
    assert api.delete(f"/api/v1/runbooks/{body['id']}/").status_code == 204


def test_start_a_runbook_then_read_its_runs(
    api_as,
    commander,
    viewer,
    incident,
    runbook,
    scripted_probes,
    django_capture_on_commit_callbacks,
):
    scripted_probes["web"] = result("critical", "down")
    with django_capture_on_commit_callbacks(execute=True):
        started = api_as(commander).post(
            f"/api/v1/runbooks/{runbook.pk}/run/", {"incident": incident.pk}, format="json"
        )
    assert started.status_code == 201
    body = started.json()
    assert body["purpose"] == "runbook" and body["total"] == 2
    assert [run["state"] for run in body["runs"]] == ["queued", "queued"]

    # The worker's part, then read back.
    from diagnostics.services import run_execute

    for run in body["runs"]:
        run_execute(run["id"])
    diagnosis = api_as(viewer).get(f"/api/v1/diagnoses/{body['id']}/").json()
    assert diagnosis["status"] == "critical" and diagnosis["remaining"] == 0
    runs = api_as(viewer).get(f"/api/v1/probe-runs/?incident={incident.pk}").json()
    assert runs["count"] == 2
    assert {r["status"] for r in runs["results"]} == {"critical", "ok"}
    critical = api_as(viewer).get("/api/v1/probe-runs/?status=critical").json()["results"]
    assert [r["target_label"] for r in critical] == ["Checkout / web"]
    assert critical[0]["incident"] == incident.pk
    assert critical[0]["result"]["summary"] == "down"


def test_single_probe_and_rerun_roles(api_as, viewer, responder, commander, incident, checkout):
    web = checkout.targets.get(name="web")
    payload = {"probe": "test.scripted", "target": web.pk, "incident": incident.pk}
    assert api_as(viewer).post("/api/v1/probe-runs/", payload, format="json").status_code == 403
    assert api_as(responder).post("/api/v1/probe-runs/", payload, format="json").status_code == 403
    started = api_as(commander).post("/api/v1/probe-runs/", payload, format="json")
    assert started.status_code == 201
    run_id = started.json()["id"]
    assert api_as(viewer).post(f"/api/v1/probe-runs/{run_id}/rerun/").status_code == 403
    again = api_as(responder).post(f"/api/v1/probe-runs/{run_id}/rerun/")
    assert again.status_code == 201
    assert again.json()["probe"] == "test.scripted" and again.json()["id"] != run_id
    assert api_as(None).get("/api/v1/probe-runs/").status_code == 401


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"probe": "test.scripted", "target": 10**30}, "target"),
        ({"probe": "test.scripted", "target": "x"}, "target"),
        ({"probe": "kafka.topics", "target": "WEB"}, "non_field_errors"),
        ({"probe": "test.scripted", "target": "WEB", "params": [1]}, "params"),
        ({"probe": "test.scripted", "target": "WEB", "params": {"limit": "lots"}}, "test.scripted"),
        ({"probe": "nope", "target": "WEB"}, "probe"),
    ],
)
def test_bad_probe_run_requests_are_400_with_field_errors(
    api_as, commander, checkout, payload, field
):
    web = checkout.targets.get(name="web")
    payload = {k: (web.pk if v == "WEB" else v) for k, v in payload.items()}
    response = api_as(commander).post("/api/v1/probe-runs/", payload, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert not ProbeRun.objects.exists()


def test_health_check_of_a_service(api_as, commander, checkout):
    response = api_as(commander).post("/api/v1/diagnoses/", {"service": "checkout"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["purpose"] == "health_check" and body["service"] == checkout.pk
    # Every health probe of each http target: http.health and the scripted one.
    assert sorted({r["probe"] for r in body["runs"]}) == ["http.health", "test.scripted"]
    neither = api_as(commander).post("/api/v1/diagnoses/", {}, format="json")
    assert neither.status_code == 400


def test_transition_blocked_by_the_evidence_gate_is_409_then_waived(api_as, commander, incident):
    api = api_as(commander)
    blocked = api.post(
        f"/api/v1/incidents/{incident.pk}/transition/", {"to": "mitigating"}, format="json"
    )
    assert blocked.status_code == 409
    body = blocked.json()
    assert body["type"] == "evidence_required"
    assert body["extra"]["gates"][0]["name"] == "diagnosis"
    waived = api.post(
        f"/api/v1/incidents/{incident.pk}/transition/",
        {"to": "mitigating", "waiver": "Rolling back the obvious bad deploy."},
        format="json",
    )
    assert waived.status_code == 200 and waived.json()["status"] == "mitigating"


def test_verification_start_conflict_and_cancel(api_as, commander, responder, incident):
    payload = {"incident": incident.pk, "watch_minutes": 10}
    assert api_as(responder).post("/api/v1/verifications/", payload).status_code == 403
    started = api_as(commander).post("/api/v1/verifications/", payload, format="json")
    assert started.status_code == 201
    body = started.json()
    assert body["state"] == "verifying" and body["watch_minutes"] == 10
    assert Diagnosis.objects.get(pk=body["diagnosis"]).purpose == "verification"
    again = api_as(commander).post("/api/v1/verifications/", payload, format="json")
    assert again.status_code == 409 and again.json()["type"] == "already_verifying"
    cancelled = api_as(commander).post(f"/api/v1/verifications/{body['id']}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert Verification.objects.get().state == "cancelled"


def test_list_query_counts_do_not_grow_with_runs(
    api_as, viewer, commander, checkout, incident, django_assert_max_num_queries
):
    from diagnostics.services import probe_start

    web = checkout.targets.get(name="web")
    probe_start(probe="test.scripted", target=web, params={}, by=commander, incident=incident)
    api = api_as(viewer)
    with django_assert_max_num_queries(20) as small_runs:
        api.get("/api/v1/probe-runs/")
    with django_assert_max_num_queries(20) as small_sets:
        api.get("/api/v1/diagnoses/")
    for _ in range(15):
        probe_start(probe="test.scripted", target=web, params={}, by=commander, incident=incident)
    with django_assert_max_num_queries(len(small_runs.captured_queries)):
        assert api.get("/api/v1/probe-runs/").json()["count"] == 16
    with django_assert_max_num_queries(len(small_sets.captured_queries)):
        assert api.get("/api/v1/diagnoses/").json()["count"] == 16
