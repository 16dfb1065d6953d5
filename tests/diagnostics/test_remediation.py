"""Remediation requests: preview, confirm with the token, approval, one execution, the audit.

A counter action (a real plug-in registered for the test, kind http) keeps its "target state" in
a dict, so the state machine is checked exactly; the real actions are tested against their peers
in tests/diagnostics/actions/.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework import serializers

from diagnostics import remediation
from diagnostics.actions import registry
from diagnostics.actions.base import Action, ActionRefused, ActionResult, Change, Preview
from diagnostics.models import ActionPolicy, ActionRequest, ActionState, ApprovalRule
from incidents.models import EventKind, OutboxEvent, TimelineEvent
from incidents.services import incident_declare

pytestmark = pytest.mark.django_db

STATE = {"replicas": 3, "executions": 0, "refuse": ""}


class CounterParams(serializers.Serializer):
    replicas = serializers.IntegerField(min_value=0, max_value=20)
    force = serializers.BooleanField(default=False)


class CounterAction(Action):
    name = "test.scale"
    kind = "http"
    title = "Scale the counter"
    params_class = CounterParams

    def preview(self, target, params, timeout_s):
        if STATE["refuse"]:
            raise ActionRefused(STATE["refuse"])
        return Preview(
            summary=f"Scale {target.name} from {STATE['replicas']} to {params['replicas']}",
            changes=[Change("replicas", STATE["replicas"], params["replicas"])],
            details={"body": {"spec": {"replicas": params["replicas"]}}},
            basis={"replicas": STATE["replicas"]},
        )

    def execute(self, target, params, preview, timeout_s, progress=None):
        STATE["executions"] += 1
        STATE["replicas"] = params["replicas"]
        if progress:
            progress({"name": "patch", "ok": True, "summary": "patched"})
        return ActionResult(ok=True, summary=f"scaled to {params['replicas']}")

    suggested_by = ("test.scripted",)

    def suggest(self, probe_name, result):
        from diagnostics.actions.base import Suggestion

        return [
            Suggestion(self.name, f"Scale to {row[1]}", {"replicas": row[1]})
            for table in result.get("tables", [])
            for row in table["rows"]
        ]


class RiskyAction(CounterAction):
    name = "test.rollback"
    title = "Roll back the counter"
    approval_on_high_severity = True
    suggested_by = ()


@pytest.fixture(autouse=True)
def counter_actions():
    STATE.update(replicas=3, executions=0, refuse="")
    for cls in (CounterAction, RiskyAction):
        registry.register(cls)
    yield
    for cls in (CounterAction, RiskyAction):
        registry._actions.pop(cls.name, None)


@pytest.fixture
def incident(checkout, commander):
    return incident_declare(
        title="Checkout 503", severity="P1", by=commander, commander=commander, services=[checkout]
    )


@pytest.fixture
def web(checkout):
    return checkout.targets.get(name="web")


def preview(incident, web, by, action="test.scale", **params):
    return remediation.action_preview(
        incident=incident, action=action, target=web, params={"replicas": 6, **params}, by=by
    )


def phases(incident):
    return [
        event.data["phase"]
        for event in TimelineEvent.objects.filter(
            incident=incident, kind=EventKind.REMEDIATION
        ).order_by("seq")
    ]


def test_preview_then_confirm_runs_once_and_audits_every_step(
    run_inline, committed, incident, web, responder, commander
):
    issued = preview(incident, web, responder)
    assert issued.request.state == ActionState.PREVIEWED and issued.token
    assert issued.request.preview["summary"] == "Scale web from 3 to 6"
    assert STATE["executions"] == 0  # a preview changes nothing
    committed(remediation.action_confirm, request=issued.request, token=issued.token, by=commander)
    request = ActionRequest.objects.get(pk=issued.request.pk)
    assert request.state == ActionState.DONE and STATE["executions"] == 1
    assert request.requested_by == commander and request.result["summary"] == "scaled to 6"
    assert phases(incident) == ["previewed", "requested", "started", "step", "done"]
    requested = TimelineEvent.objects.get(incident=incident, data__phase="requested")
    assert requested.author == commander
    assert requested.data["preview"]["changes"] == [{"what": "replicas", "before": 3, "after": 6}]
    # A redelivered task, or a second confirm, never runs it again.
    assert remediation.action_execute(request.pk) is None
    with pytest.raises(remediation.ActionError) as caught:
        remediation.action_confirm(request=request, token=issued.token, by=commander)
    assert caught.value.code == "not_previewed"
    assert STATE["executions"] == 1


def test_the_token_is_required_and_expires(incident, web, responder, commander):
    issued = preview(incident, web, responder)
    with pytest.raises(remediation.ActionError) as caught:
        remediation.action_confirm(request=issued.request, token="guess", by=commander)
    assert caught.value.code == "invalid_preview_token"
    ActionRequest.objects.filter(pk=issued.request.pk).update(
        preview_expires_at=timezone.now() - timedelta(seconds=1)
    )
    with pytest.raises(remediation.ActionError) as caught:
        remediation.action_confirm(request=issued.request, token=issued.token, by=commander)
    assert caught.value.code == "preview_expired"
    assert ActionRequest.objects.get(pk=issued.request.pk).state == ActionState.EXPIRED
    assert phases(incident) == ["previewed", "expired"]
    assert STATE["executions"] == 0


def test_risky_actions_on_p0_p1_need_a_second_commander(
    run_inline, committed, incident, web, commander, make_user
):
    from accounts.permissions import Role

    second = make_user(Role.COMMANDER, username="second")
    issued = preview(incident, web, commander, action="test.rollback")
    assert issued.request.needs_approval
    request = remediation.action_confirm(request=issued.request, token=issued.token, by=commander)
    assert request.state == ActionState.REQUESTED and STATE["executions"] == 0
    with pytest.raises(remediation.ActionError) as caught:
        remediation.action_approve(request=request, by=commander)
    assert caught.value.code == "approver_is_requester"
    committed(remediation.action_approve, request=request, by=second)
    request.refresh_from_db()
    assert request.state == ActionState.DONE and request.approved_by == second
    assert STATE["executions"] == 1
    assert phases(incident) == ["previewed", "requested", "approved", "started", "step", "done"]


def test_policies_decide_what_is_allowed_and_what_needs_approval(
    incident, web, commander, checkout
):
    ActionPolicy.objects.create(action="test.scale", approval=ApprovalRule.ALWAYS)
    assert preview(incident, web, commander).request.needs_approval
    # The target-specific row wins over the global one.
    ActionPolicy.objects.create(target=web, action="test.scale", allowed=False)
    refused = preview(incident, web, commander)
    assert refused.request.state == ActionState.REFUSED and refused.token == ""
    assert refused.request.error.startswith("Refused by policy: not allowed on")
    api = checkout.targets.get(name="api")
    assert preview(incident, api, commander).request.needs_approval


def test_a_preview_the_target_refuses_is_recorded(incident, web, commander):
    STATE["refuse"] = "group has 2 active members"
    issued = preview(incident, web, commander)
    assert issued.request.state == ActionState.REFUSED
    assert issued.request.error == "group has 2 active members"
    assert phases(incident) == ["refused"]


def test_execution_refuses_when_the_target_changed_since_the_preview(
    run_inline, committed, incident, web, commander
):
    issued = preview(incident, web, commander)
    STATE["replicas"] = 4  # someone scaled it meanwhile
    committed(remediation.action_confirm, request=issued.request, token=issued.token, by=commander)
    request = ActionRequest.objects.get(pk=issued.request.pk)
    assert request.state == ActionState.FAILED
    assert request.error == "refused: the target changed since the preview; preview again"
    assert STATE["executions"] == 0


def test_a_running_action_whose_worker_died_becomes_unknown_and_is_not_retried(
    settings, incident, web, commander
):
    issued = preview(incident, web, commander)
    remediation.action_confirm(request=issued.request, token=issued.token, by=commander)
    long_ago = timezone.now() - timedelta(seconds=settings.ACTIONS_STALE_RUNNING_S + 1)
    ActionRequest.objects.filter(pk=issued.request.pk).update(
        state=ActionState.RUNNING, started_at=long_ago
    )
    assert remediation.sweep() == {"resent": 0, "unknown": 1}
    assert ActionRequest.objects.get(pk=issued.request.pk).state == ActionState.UNKNOWN
    assert remediation.action_execute(issued.request.pk) is None
    assert STATE["executions"] == 0
    assert phases(incident)[-1] == "unknown"


def test_an_approved_request_a_lost_message_left_behind_is_sent_again(
    settings, incident, web, commander
):
    issued = preview(incident, web, commander)
    remediation.action_confirm(request=issued.request, token=issued.token, by=commander)
    ActionRequest.objects.filter(pk=issued.request.pk).update(
        approved_at=timezone.now() - timedelta(minutes=5)
    )
    settings.DIAGNOSTICS_RUN_INLINE = True
    assert remediation.sweep()["resent"] == 1
    assert ActionRequest.objects.get(pk=issued.request.pk).state == ActionState.DONE


def test_only_admins_may_force(incident, web, commander, admin_user):
    with pytest.raises(remediation.ActionError) as caught:
        preview(incident, web, commander, force=True)
    assert "force" in caught.value.errors
    assert preview(incident, web, admin_user, force=True).request.params["force"] is True


def test_targets_outside_the_incidents_services_are_refused(incident, commander):
    from catalog.models import Target
    from tests.factories import ServiceFactory

    other = Target.objects.create(
        service=ServiceFactory(), name="elsewhere", kind="http", config={"url": "http://x/"}
    )
    with pytest.raises(remediation.ActionError) as caught:
        preview(incident, other, commander)
    assert caught.value.code == "target_not_affected"


def test_rejecting_records_the_reason(incident, web, commander):
    issued = preview(incident, web, commander, action="test.rollback")
    request = remediation.action_confirm(request=issued.request, token=issued.token, by=commander)
    remediation.action_reject(request=request, by=commander, reason="not during peak")
    request.refresh_from_db()
    assert request.state == ActionState.REJECTED and request.reason == "not during peak"
    assert not OutboxEvent.objects.filter(topic="incident.remediation").exists()


class TestApi:
    def test_preview_execute_and_read_back(
        self,
        api_as,
        run_inline,
        django_capture_on_commit_callbacks,
        incident,
        web,
        responder,
        commander,
        viewer,
    ):
        payload = {
            "incident": incident.pk,
            "action": "test.scale",
            "target": web.pk,
            "params": {"replicas": 6},
        }
        assert (
            api_as(viewer).post("/api/v1/actions/preview/", payload, format="json").status_code
            == 403
        )
        previewed = api_as(responder).post("/api/v1/actions/preview/", payload, format="json")
        assert previewed.status_code == 201
        body = previewed.json()
        assert previewed["Cache-Control"] == "no-store"
        assert (
            body["state"] == "previewed" and body["preview"]["summary"] == "Scale web from 3 to 6"
        )
        token = body["preview_token"]
        url = f"/api/v1/actions/{body['id']}/execute/"
        assert (
            api_as(responder).post(url, {"preview_token": token}, format="json").status_code == 403
        )
        wrong = api_as(commander).post(url, {"preview_token": "x"}, format="json")
        assert wrong.status_code == 403 and wrong.json()["type"] == "invalid_preview_token"
        with django_capture_on_commit_callbacks(execute=True):
            done = api_as(commander).post(url, {"preview_token": token}, format="json")
        assert done.status_code == 200
        read = api_as(viewer).get(f"/api/v1/actions/{body['id']}/").json()
        assert read["state"] == "done" and read["result"]["summary"] == "scaled to 6"
        assert "preview_token" not in read
        again = api_as(commander).post(url, {"preview_token": token}, format="json")
        assert again.status_code == 409 and again.json()["type"] == "not_previewed"
        assert STATE["executions"] == 1
        listed = api_as(viewer).get(f"/api/v1/actions/?incident={incident.pk}").json()
        assert listed["count"] == 1

    def test_bad_requests_are_400(self, api_as, commander, incident, web):
        bad = api_as(commander).post(
            "/api/v1/actions/preview/",
            {"incident": incident.pk, "action": "test.scale", "target": web.pk, "params": {}},
            format="json",
        )
        assert bad.status_code == 400 and "replicas" in str(bad.json()["errors"])
        unknown = api_as(commander).post(
            "/api/v1/actions/preview/",
            {"incident": incident.pk, "action": "rm.rf", "target": web.pk},
            format="json",
        )
        assert unknown.status_code == 400 and "action" in unknown.json()["errors"]

    def test_policies_are_admin_managed(self, api_as, commander, admin_user, web):
        payload = {"target": web.pk, "action": "test.rollback", "approval": "always"}
        assert api_as(commander).post("/api/v1/action-policies/", payload).status_code == 403
        created = api_as(admin_user).post("/api/v1/action-policies/", payload, format="json")
        assert created.status_code == 201
        clash = api_as(admin_user).post("/api/v1/action-policies/", payload, format="json")
        assert clash.status_code == 400


def test_findings_suggest_actions_with_params_filled(
    run_inline, committed, api_as, viewer, incident, web, commander, scripted_probes
):
    from diagnostics.probes.base import ProbeResult, Table
    from diagnostics.services import probe_start

    scripted_probes["web"] = ProbeResult(
        status="warning",
        summary="too few",
        tables=[Table("want", "Wanted replicas", ["target", "replicas"], [["web", 8]])],
    )
    diagnosis = committed(
        probe_start, probe="test.scripted", target=web, params={}, by=commander, incident=incident
    )
    run = diagnosis.runs.get()
    response = api_as(viewer).get(f"/api/v1/probe-runs/{run.pk}/suggestions/")
    assert response.status_code == 200
    assert response.json() == [
        {
            "action": "test.scale",
            "title": "Scale the counter",
            "label": "Scale to 8",
            "params": {"replicas": 8},
            "target": web.pk,
            "run": run.pk,
        }
    ]


def test_the_action_catalogue_lists_every_action_with_its_parameters(api_as, viewer):
    body = api_as(viewer).get("/api/v1/actions/catalogue/").json()
    names = {action["name"] for action in body["results"]}
    assert {
        "kubernetes.rollout_restart",
        "kubernetes.scale",
        "kubernetes.rollback",
        "postgres.terminate_backend",
        "postgres.set_log_min_duration",
        "redis.delete_keys",
        "kafka.reset_offsets",
    } <= names
    scale = next(a for a in body["results"] if a["name"] == "test.scale")
    assert [p["name"] for p in scale["params"]] == ["replicas", "force"]
    rollback = next(a for a in body["results"] if a["name"] == "kubernetes.rollback")
    assert rollback["approval_on_high_severity"] is True


def test_an_approved_action_does_not_run_once_the_incident_is_closed(incident, web, commander):
    from incidents.services import incident_transition

    issued = preview(incident, web, commander)
    remediation.action_confirm(request=issued.request, token=issued.token, by=commander)
    incident_transition(incident=incident, to="resolved", by=commander)
    incident_transition(incident=incident, to="closed", by=commander)
    request = remediation.action_execute(issued.request.pk)
    assert request.state == ActionState.FAILED
    assert request.error == "not run: the incident was closed meanwhile"
    assert STATE["executions"] == 0
