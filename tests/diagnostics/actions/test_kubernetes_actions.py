"""Kubernetes actions against the fake API server, through the real client's kubeconfig path.

The scenario is `checkout` in `shop` mid-rollout (revision 4, image 1.5.0, stalled) with the
ReplicaSets of revisions 4, 3 (1.4.2, still holding the healthy pod) and 2 (1.4.1), and cart's
revision 5 that is not checkout's. Every test asserts what the official client SENT, as the
fake recorded it: method, path, Content-Type, fieldManager and body. Previews send only GETs.
`api.run_controller(reads=N)` makes a pod-template change roll out on the N-th read.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path

import pytest
from kubernetes import client as k8s
from rest_framework import serializers

from catalog.models import Target
from catalog.target_configs import validate_target_config
from diagnostics.actions import load_action_modules, registry
from diagnostics.actions.base import ActionRefused, Suggestion
from diagnostics.actions.kubernetes import Rollback, RolloutRestart, Scale
from diagnostics.actions.kubernetes.workflow import rollout_status
from diagnostics.probes import registry as probes
from diagnostics.probes.base import ProbeUnreachable
from diagnostics.probes.kubernetes.session import KubeApiError
from diagnostics.runner import run_probe
from tests.diagnostics.peers.http_peers import PeerServer, Reply
from tests.diagnostics.peers.kube_api import FakeKubeApi
from tests.diagnostics.peers.kube_scenario import NEW_RS, OLD_RS
from tests.factories import ServiceFactory

NEW_IMAGE = "registry.example.com/shop/checkout:1.5.0"
OLD_IMAGE = "registry.example.com/shop/checkout:1.4.2"
DEPLOYMENT = "/apis/apps/v1/namespaces/shop/deployments/checkout"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
REVISION = "deployment.kubernetes.io/revision"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
HISTORY_RS = "checkout-6b8c7d9e2"  # revision 2, image 1.4.1, no pods
KUBECTL = Path("/usr/bin/kubectl")


@pytest.fixture(scope="module", autouse=True)
def actions_loaded():
    load_action_modules()


@pytest.fixture
def kube_api():
    with FakeKubeApi() as api:
        yield api


@pytest.fixture
def kubeconfig(kube_api, tmp_path):
    return kube_api.write_kubeconfig(tmp_path)


def kube_config(kubeconfig, **changes) -> dict:
    """checkout reached through the kubeconfig's `fake` context; None drops a key."""
    config = {
        "namespace": "shop",
        "deployment": "checkout",
        "service": "checkout",
        "connection": "kubeconfig",
        "kubeconfig_path": str(kubeconfig),
        "context": "fake",
    }
    config = {key: value for key, value in {**config, **changes}.items() if value is not None}
    return validate_target_config("kubernetes", config)


@pytest.fixture
def make_target(kubeconfig):
    """An unsaved checkout target; `bounds` adds min/max_replicas (not yet in the schema)."""

    def make(bounds: dict | None = None, **changes):
        config = {**kube_config(kubeconfig, **changes), **(bounds or {})}
        return Target(kind="kubernetes", name="checkout", config=config)

    return make


@pytest.fixture
def rollback():
    action = Rollback()
    action.poll_interval_s = 0.02  # our own instance: the fake's rollouts complete in reads
    return action


def preview_of(action, target, api: FakeKubeApi, params: dict | None = None) -> dict:
    """Preview as the service does (validated params, stored as a dict); assert it read only."""
    before = len(api.requests)
    preview = action.preview(target, action.validate_params(params or {}), 5).as_dict()
    assert {r.method for r in api.requests[before:]} == {"GET"}
    return preview


def execute(action, target, preview: dict, params: dict | None = None, progress=None):
    return action.execute(target, action.validate_params(params or {}), preview, 5, progress)


def writes(api: FakeKubeApi) -> list:
    return [r for r in api.requests if r.method != "GET"]


def deployment(api: FakeKubeApi) -> dict:
    return api.state["deployments"][0]


def replicaset(api: FakeKubeApi, name: str) -> dict:
    return next(rs for rs in api.state["replicasets"] if rs["metadata"]["name"] == name)


def template_of(rs: dict) -> dict:
    template = copy.deepcopy(rs["spec"]["template"])
    del template["metadata"]["labels"]["pod-template-hash"]
    return template


def test_the_three_actions_are_registered_for_kubernetes_targets():
    names = {action.name for action in registry.for_kind("kubernetes")}
    assert names == {"kubernetes.rollout_restart", "kubernetes.scale", "kubernetes.rollback"}
    assert registry.get("kubernetes.rollback").approval_on_high_severity is True
    assert registry.get("kubernetes.scale").approval_on_high_severity is False


# --- rollout restart ----------------------------------------------------------------------------


def test_restart_preview_shows_the_exact_patch_with_a_fixed_timestamp(kube_api, make_target):
    preview = preview_of(RolloutRestart(), make_target(), kube_api)

    stamp = preview["details"]["restarted_at"]
    assert STAMP.match(stamp)
    assert preview["details"] == {
        "method": "PATCH",
        "path": DEPLOYMENT,
        "content_type": STRATEGIC,
        "body": {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}},
        "restarted_at": stamp,
    }
    assert preview["summary"] == (
        "Restart deployment shop/checkout: replace its 3 pods "
        "(rolling update, maxSurge 25%, maxUnavailable 25%)"
    )
    assert preview["changes"] == [
        {
            "what": "pods of deployment shop/checkout",
            "before": "3 replicas, 1 ready",
            "after": "replaced",
        },
        {"what": f"pod template annotation {RESTARTED_AT}", "before": None, "after": stamp},
    ]
    assert preview["warnings"] == ["a rollout is still in progress: the restart starts another one"]
    assert preview["basis"] == {"restarted_at": None, "images": {"checkout": NEW_IMAGE}}
    assert [r.path for r in kube_api.requests] == [DEPLOYMENT]


def test_restart_sends_the_previewed_patch_once_and_a_retry_sends_nothing(kube_api, make_target):
    target, action = make_target(), RolloutRestart()
    preview = preview_of(action, target, kube_api)
    stamp = preview["details"]["restarted_at"]

    first = execute(action, target, preview)
    retried = execute(action, target, preview)

    [patch] = writes(kube_api)
    assert (patch.method, patch.path, patch.content_type) == ("PATCH", DEPLOYMENT, STRATEGIC)
    assert json.loads(patch.body) == preview["details"]["body"]
    assert patch.param("fieldManager") == "ops-portal"
    assert patch.authorization == "Bearer test-token"
    annotations = deployment(kube_api)["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {RESTARTED_AT: stamp}
    assert first.ok and first.summary == f"checkout restarted (restartedAt {stamp})"
    assert first.details == {"sent": True, "restarted_at": stamp, "generation": 8}
    assert retried.ok and retried.details == {"sent": False, "restarted_at": stamp}
    assert retried.summary == f"checkout was already restarted at {stamp}: nothing sent"


@pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl is not installed at /usr/bin/kubectl")
def test_restart_patch_is_the_one_kubectl_rollout_restart_sends(kube_api, make_target, tmp_path):
    preview = preview_of(RolloutRestart(), make_target(), kube_api)
    execute(RolloutRestart(), make_target(), preview)
    [ours] = writes(kube_api)
    del deployment(kube_api)["spec"]["template"]["metadata"]["annotations"]

    kubeconfig = kube_api.write_kubeconfig(tmp_path)
    command = [str(KUBECTL), "--kubeconfig", str(kubeconfig), "--context", "fake", "-n", "shop"]
    done = subprocess.run(
        [*command, "rollout", "restart", "deployment/checkout"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    kubectl_patch = writes(kube_api)[1]

    assert (ours.path, ours.content_type) == (kubectl_patch.path, kubectl_patch.content_type)
    kubectl_body = json.loads(kubectl_patch.body)
    kubectl_stamp = kubectl_body["spec"]["template"]["metadata"]["annotations"][RESTARTED_AT]
    assert STAMP.match(kubectl_stamp)  # kubectl formats RFC 3339 in local time: UTC here
    assert json.loads(ours.body) == json.loads(
        kubectl_patch.body.decode().replace(kubectl_stamp, preview["details"]["restarted_at"])
    )
    assert kubectl_patch.param("fieldManager") == "kubectl-rollout"
    assert ours.param("fieldManager") == "ops-portal"


@pytest.mark.parametrize(
    ("strategy", "summary_end", "warning"),
    [
        (
            {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
            "(rolling update, maxSurge 0, maxUnavailable 1)",
            None,
        ),
        (
            {"type": "Recreate"},
            "(Recreate strategy)",
            "Recreate strategy: every pod stops before the new ones start",
        ),
    ],
)
def test_restart_preview_describes_the_strategy(
    kube_api, make_target, strategy, summary_end, warning
):
    deployment(kube_api)["spec"]["strategy"] = strategy
    preview = preview_of(RolloutRestart(), make_target(), kube_api)
    assert preview["summary"].endswith(summary_end)
    assert (warning in preview["warnings"]) if warning else len(preview["warnings"]) == 1


def test_restart_refuses_a_paused_deployment(kube_api, make_target):
    deployment(kube_api)["spec"]["paused"] = True
    with pytest.raises(ActionRefused, match="checkout is paused: resume its rollout"):
        preview_of(RolloutRestart(), make_target(), kube_api)


def test_a_missing_deployment_is_refused_not_an_outage(kube_api, make_target):
    with pytest.raises(ActionRefused, match=r"^deployment nope not found in namespace shop$"):
        preview_of(RolloutRestart(), make_target(deployment="nope"), kube_api)


def test_a_target_without_deployment_is_refused(kube_api, make_target):
    target = make_target(deployment=None, label_selector="app=checkout")
    with pytest.raises(ActionRefused, match="names no deployment"):
        RolloutRestart().preview(target, {}, 5)
    assert kube_api.requests == []


def test_forbidden_answers_are_unreachable_errors_that_name_the_verb(kube_api, make_target):
    target, action = make_target(), RolloutRestart()
    preview = preview_of(action, target, kube_api)
    kube_api.fail("deployments", 403, method="PATCH")

    with pytest.raises(KubeApiError) as raised:
        execute(action, target, preview)

    assert isinstance(raised.value, ProbeUnreachable) and raised.value.status == 403
    assert str(raised.value) == "forbidden: the service account may not patch deployments in shop"
    kube_api.fail("deployments", 403)
    with pytest.raises(ProbeUnreachable, match="may not get deployments in shop"):
        RolloutRestart().preview(target, {}, 5)


def test_execute_refuses_a_preview_made_for_another_deployment(kube_api, make_target):
    action = RolloutRestart()
    preview = preview_of(action, make_target(), kube_api)
    with pytest.raises(ActionRefused, match="another deployment"):
        execute(action, make_target(deployment="cart"), preview)
    assert writes(kube_api) == []


def test_an_unreachable_cluster_is_reported_as_such(make_target, tmp_path):
    target = make_target(context="closed")
    with pytest.raises(ProbeUnreachable, match=r"^connection refused: 127\.0\.0\.1:"):
        RolloutRestart().preview(target, {}, 2)


# --- scale -------------------------------------------------------------------------------------


def test_scale_preview_shows_the_scale_patch_and_the_default_bounds(kube_api, make_target):
    preview = preview_of(Scale(), make_target(), kube_api, {"replicas": 6})

    assert preview["summary"] == "Scale deployment shop/checkout from 3 to 6 replicas"
    assert preview["details"] == {
        "method": "PATCH",
        "path": DEPLOYMENT + "/scale",
        "content_type": STRATEGIC,
        "body": {"spec": {"replicas": 6}},
        "running": 3,
        "bounds": {"min": 0, "max": 50, "from": "default"},
    }
    assert preview["changes"] == [
        {"what": "replicas of deployment shop/checkout", "before": 3, "after": 6}
    ]
    assert preview["warnings"] == []
    assert preview["basis"] == {"replicas": 3}
    assert [r.path for r in kube_api.requests] == [
        DEPLOYMENT + "/scale",
        "/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers",
    ]


def test_scale_sets_the_replicas_once_and_a_retry_sends_nothing(kube_api, make_target):
    target, action = make_target(), Scale()
    preview = preview_of(action, target, kube_api, {"replicas": 6})

    first = execute(action, target, preview, {"replicas": 6})
    retried = execute(action, target, preview, {"replicas": 6})

    [patch] = writes(kube_api)
    assert (patch.method, patch.path, patch.content_type) == (
        "PATCH",
        DEPLOYMENT + "/scale",
        STRATEGIC,
    )
    assert json.loads(patch.body) == {"spec": {"replicas": 6}}
    assert patch.param("fieldManager") == "ops-portal"
    assert deployment(kube_api)["spec"]["replicas"] == 6
    assert first.ok and first.summary == "checkout scaled from 3 to 6 replicas"
    assert first.details == {"sent": True, "replicas": 6, "before": 3}
    assert retried.ok and retried.summary == "checkout already has 6 replicas: nothing sent"


@pytest.mark.parametrize("replicas", [1, 11])
def test_scale_refuses_outside_the_targets_bounds_before_any_request(
    kube_api, make_target, replicas
):
    target = make_target({"min_replicas": 2, "max_replicas": 10})
    with pytest.raises(
        ActionRefused, match=f"^target checkout allows 2–10 replicas, not {replicas}$"
    ):
        Scale().preview(target, {"replicas": replicas}, 5)
    assert kube_api.requests == []


def test_scale_within_the_targets_bounds_says_where_they_come_from(kube_api, make_target):
    target = make_target({"min_replicas": 2, "max_replicas": 10})
    preview = preview_of(Scale(), target, kube_api, {"replicas": 10})
    assert preview["details"]["bounds"] == {"min": 2, "max": 10, "from": "target"}


def test_scale_to_zero_warns_and_above_the_default_bound_is_refused(kube_api, make_target):
    preview = preview_of(Scale(), make_target(), kube_api, {"replicas": 0})
    assert preview["warnings"] == [
        "scaling to 0 stops every pod of checkout: the service goes down"
    ]
    with pytest.raises(ActionRefused, match="allows 0–50 replicas, not 51"):
        Scale().preview(make_target(), {"replicas": 51}, 5)


def test_scale_execute_rechecks_the_bounds_of_the_target_now(kube_api, make_target):
    action = Scale()
    preview = preview_of(action, make_target(), kube_api, {"replicas": 6})
    with pytest.raises(ActionRefused, match="allows 1–4 replicas, not 6"):
        execute(
            action, make_target({"min_replicas": 1, "max_replicas": 4}), preview, {"replicas": 6}
        )
    assert writes(kube_api) == []


def test_scale_warns_when_an_autoscaler_manages_the_deployment(kube_api, make_target):
    kube_api.state["horizontalpodautoscalers"] = [
        {
            "metadata": {"name": "checkout", "namespace": "shop", "uid": "uid-hpa"},
            "spec": {
                "scaleTargetRef": {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": "checkout",
                },
                "minReplicas": 2,
                "maxReplicas": 8,
            },
            "status": {"currentReplicas": 3, "desiredReplicas": 3},
        }
    ]
    preview = preview_of(Scale(), make_target(), kube_api, {"replicas": 3})
    assert preview["warnings"] == [
        "HorizontalPodAutoscaler checkout manages this deployment (2–8 replicas): "
        "it will change the count again",
        "checkout already has 3 replicas: nothing will change",
    ]


def test_scale_without_autoscaler_access_still_previews_with_a_warning(kube_api, make_target):
    kube_api.fail("horizontalpodautoscalers", 403)
    preview = preview_of(Scale(), make_target(), kube_api, {"replicas": 4})
    assert preview["warnings"] == ["could not check for a HorizontalPodAutoscaler (HTTP 403)"]


@pytest.mark.parametrize("params", [{}, {"replicas": -1}, {"replicas": "many"}])
def test_scale_params_are_validated(params):
    with pytest.raises(serializers.ValidationError):
        Scale().validate_params(params)


# --- rollback: the preview -----------------------------------------------------------------------


def test_rollback_preview_picks_the_previous_revision_and_shows_the_json_patch(
    kube_api, make_target, rollback
):
    preview = preview_of(rollback, make_target(), kube_api)

    old_template = template_of(replicaset(kube_api, OLD_RS))
    assert old_template["metadata"]["labels"] == {"app": "checkout", "tier": "backend"}
    assert preview["details"]["body"] == [
        {
            "op": "test",
            "path": "/metadata/annotations/deployment.kubernetes.io~1revision",
            "value": "4",
        },
        {"op": "replace", "path": "/spec/template", "value": old_template},
        {"op": "replace", "path": "/metadata/annotations", "value": {REVISION: "4"}},
    ]
    assert {k: v for k, v in preview["details"].items() if k != "body"} == {
        "method": "PATCH",
        "path": DEPLOYMENT,
        "content_type": JSON_PATCH,
        "from_revision": 4,
        "to_revision": 3,
        "replicaset": OLD_RS,
        "rollout_timeout_s": 120,
        "steps": [
            "roll back the pod template",
            "wait for the rollout (timeout 120 s)",
            "verify the pods are ready",
            "check the service health",
        ],
    }
    assert (
        preview["summary"]
        == f"Roll back deployment shop/checkout from revision 4 to 3 ({OLD_IMAGE})"
    )
    assert preview["changes"][:2] == [
        {"what": "revision of deployment shop/checkout", "before": "4", "after": "3"},
        {"what": "image of container checkout", "before": NEW_IMAGE, "after": OLD_IMAGE},
    ]
    # The scenario's old ReplicaSet template is minimal: the preview says what else goes back.
    assert preview["changes"][2]["what"] == "other pod-template fields"
    assert "checkout.resources" in preview["changes"][2]["after"]
    assert preview["basis"] == {"revision": 4, "to_revision": 3, "to_replicaset": OLD_RS}
    assert preview["warnings"] == [
        "no enabled HTTP target on this service: health will not be checked"
    ]
    [listing] = kube_api.requests_to("/replicasets")
    assert listing.param("labelSelector") == "app=checkout"


def test_rollback_orders_revisions_as_numbers_among_several_replicasets(
    kube_api, make_target, rollback
):
    # 11 is current; 10 is the previous even though 9 holds pods and sorts after "10" as text.
    for name, revision in ((NEW_RS, "11"), (OLD_RS, "9"), (HISTORY_RS, "10")):
        replicaset(kube_api, name)["metadata"]["annotations"][REVISION] = revision
    deployment(kube_api)["metadata"]["annotations"][REVISION] = "11"

    preview = preview_of(rollback, make_target(), kube_api)

    assert (preview["details"]["to_revision"], preview["details"]["replicaset"]) == (10, HISTORY_RS)
    assert preview["changes"][1]["after"] == "registry.example.com/shop/checkout:1.4.1"


def test_rollback_to_a_chosen_revision_and_its_refusals(kube_api, make_target, rollback):
    preview = preview_of(rollback, make_target(), kube_api, {"to_revision": 2})
    assert preview["details"]["replicaset"] == HISTORY_RS
    with pytest.raises(
        ActionRefused, match=r"^revision 7 of checkout not found \(revisions: 2, 3, 4\)$"
    ):
        rollback.preview(make_target(), rollback.validate_params({"to_revision": 7}), 5)
    with pytest.raises(ActionRefused, match=r"^checkout already runs revision 4$"):
        rollback.preview(make_target(), rollback.validate_params({"to_revision": 4}), 5)


def test_rollback_without_a_previous_revision_is_refused(kube_api, make_target, rollback):
    kube_api.state["replicasets"] = [
        rs
        for rs in kube_api.state["replicasets"]
        if rs["metadata"]["name"] in (NEW_RS, "cart-6f8d7c9b5")
    ]
    with pytest.raises(ActionRefused, match=r"^no previous revision of checkout to roll back to$"):
        preview_of(rollback, make_target(), kube_api)


def test_rollback_refuses_a_paused_deployment(kube_api, make_target, rollback):
    deployment(kube_api)["spec"]["paused"] = True
    with pytest.raises(ActionRefused, match="checkout is paused"):
        preview_of(rollback, make_target(), kube_api)


# --- rollback: the emergency workflow ------------------------------------------------------------


def test_rollback_workflow_completes_when_the_rollout_completes(kube_api, make_target, rollback):
    target = make_target()
    preview = preview_of(rollback, target, kube_api)
    kube_api.run_controller(reads=3)
    reported = []

    result = execute(rollback, target, preview, progress=reported.append)

    [patch] = writes(kube_api)
    assert (patch.method, patch.path, patch.content_type) == ("PATCH", DEPLOYMENT, JSON_PATCH)
    assert json.loads(patch.body) == preview["details"]["body"]
    assert patch.param("fieldManager") == "ops-portal"
    assert (
        result.steps
        == reported
        == [
            {
                "name": "roll back the pod template",
                "ok": True,
                "summary": "template of revision 3 patched into checkout",
            },
            {
                "name": "wait for the rollout",
                "ok": True,
                "summary": "3 of 3 replicas updated and available",
            },
            {"name": "verify the pods are ready", "ok": True, "summary": "3 of 3 pods ready"},
            {
                "name": "check the service health",
                "ok": True,
                "summary": "no health target to check",
            },
        ]
    )
    assert result.ok
    assert result.summary == (
        "checkout rolled back to revision 3: rollout complete, 3 of 3 pods ready, "
        "no health target to check"
    )
    assert result.details == {"from_revision": 4, "to_revision": 3, "sent": True}
    # The controller took the old ReplicaSet back as revision 5, as a real one does.
    assert deployment(kube_api)["spec"]["template"] == template_of(replicaset(kube_api, OLD_RS))
    assert deployment(kube_api)["metadata"]["annotations"][REVISION] == "5"
    assert replicaset(kube_api, OLD_RS)["metadata"]["annotations"][REVISION] == "5"
    # After the patch: reads of the deployment until the rollout completed, then one pod list.
    after = kube_api.requests[kube_api.requests.index(patch) + 1 :]
    assert [r.path for r in after] == [DEPLOYMENT] * 3 + ["/api/v1/namespaces/shop/pods"]
    assert after[-1].param("labelSelector") == "app=checkout"


def test_a_retried_rollback_skips_the_patch_and_runs_the_checks_again(
    kube_api, make_target, rollback
):
    target = make_target()
    preview = preview_of(rollback, target, kube_api)
    kube_api.run_controller(reads=1)
    assert execute(rollback, target, preview).ok

    retried = execute(rollback, target, preview)

    assert len(writes(kube_api)) == 1
    assert retried.ok and retried.details["sent"] is False
    assert retried.steps[0] == {
        "name": "roll back the pod template",
        "ok": True,
        "summary": "already at revision 3's template: nothing sent",
    }
    assert [s["ok"] for s in retried.steps] == [True, True, True, True]


def test_rollback_stops_at_a_rollout_timeout(kube_api, make_target, rollback):
    target = make_target()
    preview = preview_of(rollback, target, kube_api, {"rollout_timeout_s": 1})
    kube_api.run_controller(reads=None)  # the controller never observes the new generation
    reported = []

    result = execute(rollback, target, preview, {"rollout_timeout_s": 1}, reported.append)

    assert not result.ok
    assert result.steps == reported
    assert [s["name"] for s in result.steps] == [
        "roll back the pod template",
        "wait for the rollout",
    ]
    assert result.steps[1] == {
        "name": "wait for the rollout",
        "ok": False,
        "summary": "timed out after 1 s: waiting for the controller to observe generation 8",
    }
    assert result.summary == (
        "rollback of checkout stopped at “wait for the rollout”: "
        "timed out after 1 s: waiting for the controller to observe generation 8"
    )
    assert kube_api.requests_to("/pods") == []  # later steps did not run


def test_rollback_stops_when_the_pods_are_not_ready(kube_api, make_target, rollback):
    target = make_target()
    preview = preview_of(rollback, target, kube_api)
    kube_api.run_controller(reads=1, pods_ready=False)

    result = execute(rollback, target, preview)

    assert not result.ok
    assert result.steps[-1] == {
        "name": "verify the pods are ready",
        "ok": False,
        "summary": f"0 of 3 pods ready; not ready: {OLD_RS}-r0000, {OLD_RS}-r0001, {OLD_RS}-r0002",
    }
    assert len(result.steps) == 3


def test_rollback_refuses_when_the_deployment_was_rolled_out_since_the_preview(
    kube_api, make_target, rollback
):
    target = make_target()
    preview = preview_of(rollback, target, kube_api)
    moved = deployment(kube_api)
    moved["metadata"]["annotations"][REVISION] = "5"  # someone deployed 1.5.1 in between
    moved["spec"]["template"]["spec"]["containers"][0]["image"] = (
        "registry.example.com/shop/checkout:1.5.1"
    )
    reported = []

    with pytest.raises(ActionRefused, match="rolled out again since the preview: preview again"):
        execute(rollback, target, preview, progress=reported.append)

    [patch] = writes(kube_api)  # sent, and rejected by its `test` operation: nothing applied
    assert json.loads(patch.body)[0]["op"] == "test"
    assert moved["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":1.5.1")
    assert reported == []


def test_rollback_forbidden_to_patch_raises_before_any_step(kube_api, make_target, rollback):
    target = make_target()
    preview = preview_of(rollback, target, kube_api)
    kube_api.fail("deployments", 403, method="PATCH")
    reported = []
    with pytest.raises(KubeApiError, match="may not patch deployments in shop"):
        execute(rollback, target, preview, progress=reported.append)
    assert reported == []


@pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl is not installed at /usr/bin/kubectl")
def test_rollback_patch_matches_kubectl_rollout_undo(kube_api, make_target, rollback, tmp_path):
    preview = preview_of(rollback, make_target(), kube_api)
    kubeconfig = kube_api.write_kubeconfig(tmp_path)
    command = [str(KUBECTL), "--kubeconfig", str(kubeconfig), "--context", "fake", "-n", "shop"]
    done = subprocess.run(
        [*command, "rollout", "undo", "deployment/checkout"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    [kubectl_patch] = writes(kube_api)
    assert kubectl_patch.content_type == JSON_PATCH
    kubectl_ops = json.loads(kubectl_patch.body)
    # kubectl serialises Go structs: zero values appear as `creationTimestamp: null` and
    # `resources: {}`, which the API server reads as absent.
    template = kubectl_ops[0]["value"]
    assert template["metadata"].pop("creationTimestamp") is None
    for container in template["spec"]["containers"]:
        assert container.pop("resources") == {}
    # Ours is kubectl's patch, guarded by a `test` of the revision the preview saw.
    assert preview["details"]["body"][1:] == kubectl_ops


# --- rollback: the service health step (targets are database rows) ------------------------------


@pytest.fixture
def service_targets(db, settings, kubeconfig):
    """checkout's Kubernetes target and its HTTP targets pointing at local health endpoints."""
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    service = ServiceFactory(slug="checkout", name="Checkout")
    kube = Target.objects.create(
        service=service, name="k8s", kind="kubernetes", config=kube_config(kubeconfig)
    )

    def add_http(name: str, url: str, *, enabled: bool = True) -> Target:
        config = validate_target_config("http", {"url": url})
        return Target.objects.create(
            service=service, name=name, kind="http", config=config, enabled=enabled
        )

    return kube, add_http


def test_rollback_workflow_checks_each_health_target_of_the_service(
    kube_api, service_targets, rollback
):
    kube, add_http = service_targets
    healthy = {"status": "ok", "checks": {"database": {"status": "ok"}}}
    with PeerServer({"/health": Reply(200, healthy)}) as peer:
        add_http("web", peer.url("/health"))
        add_http("old", peer.url("/gone"), enabled=False)
        preview = preview_of(rollback, kube, kube_api)
        kube_api.run_controller(reads=1)
        result = execute(rollback, kube, preview)

    assert preview["warnings"] == []
    assert result.ok, result.summary
    assert result.summary.endswith("3 of 3 pods ready, service healthy")
    health = result.steps[-1]
    assert health["name"] == "check the service health" and health["ok"]
    assert health["summary"].startswith("web: ok (")
    assert [seen.path for seen in peer.requests] == ["/health"]


def test_rollback_workflow_stops_at_a_failing_health_check(kube_api, service_targets, rollback):
    kube, add_http = service_targets
    with PeerServer({"/health": Reply(503, "upstream connect error")}) as peer:
        add_http("web", peer.url("/health"))
        preview = preview_of(rollback, kube, kube_api)
        kube_api.run_controller(reads=1)
        reported = []
        result = execute(rollback, kube, preview, progress=reported.append)

    assert not result.ok
    assert [s["ok"] for s in reported] == [True, True, True, False]
    failed = result.steps[-1]
    assert failed["name"] == "check the service health"
    assert failed["summary"].startswith("web: critical (")
    assert "503" in failed["summary"]
    assert result.summary.startswith(
        "rollback of checkout stopped at “check the service health”: web: critical ("
    )


# --- rollout status, as kubectl reads it ---------------------------------------------------------


def _deployment(generation=8, observed=8, replicas=3, updated=3, total=3, available=3, reason=None):
    conditions = (
        [
            k8s.V1DeploymentCondition(
                type="Progressing", status="False", reason=reason, message="timed out"
            )
        ]
        if reason
        else None
    )
    return k8s.V1Deployment(
        metadata=k8s.V1ObjectMeta(name="checkout", generation=generation),
        spec=k8s.V1DeploymentSpec(
            replicas=replicas, selector=k8s.V1LabelSelector(), template=k8s.V1PodTemplateSpec()
        ),
        status=k8s.V1DeploymentStatus(
            observed_generation=observed,
            updated_replicas=updated,
            replicas=total,
            available_replicas=available,
            conditions=conditions,
        ),
    )


@pytest.mark.parametrize(
    ("deployment_", "expected"),
    [
        (_deployment(observed=7), (None, "waiting for the controller to observe generation 8")),
        (
            _deployment(reason="ProgressDeadlineExceeded"),
            (False, "the rollout exceeded its progress deadline: timed out"),
        ),
        (_deployment(updated=2), (None, "2 of 3 replicas updated")),
        (_deployment(total=4), (None, "1 old replicas pending termination")),
        (_deployment(available=2), (None, "2 of 3 updated replicas available")),
        (_deployment(), (True, "3 of 3 replicas updated and available")),
    ],
)
def test_rollout_status_follows_kubectl(deployment_, expected):
    assert rollout_status(deployment_, 8) == expected


# --- suggestions from real probe results ---------------------------------------------------------


def probe_result(name: str, target) -> dict:
    probe = probes.get(name)
    outcome = run_probe(probe, target, probe.validate_params({}), 5)
    assert outcome.status != "error", outcome.error
    return outcome.result


def test_a_stalled_rollout_suggests_rolling_back_to_the_previous_revision_and_restarting(
    kube_api, make_target
):
    result = probe_result("kubernetes.rollout", make_target())

    assert Rollback().suggest("kubernetes.rollout", result) == [
        Suggestion("kubernetes.rollback", "Roll back checkout to revision 3", {"to_revision": 3})
    ]
    assert RolloutRestart().suggest("kubernetes.rollout", result) == [
        Suggestion("kubernetes.rollout_restart", "Restart checkout", {})
    ]
    assert Scale().suggest("kubernetes.rollout", result) == []


def test_without_proof_of_the_previous_revision_the_suggestion_names_none(kube_api, make_target):
    # Revision 3 holds no pods any more, so the probe does not list it: 2 may not be the previous.
    old = replicaset(kube_api, OLD_RS)
    old["spec"]["replicas"], old["status"] = 0, {"replicas": 0}
    result = probe_result("kubernetes.rollout", make_target())
    assert [row[1] for row in result["tables"][1]["rows"]] == ["4"]
    assert Rollback().suggest("kubernetes.rollout", result) == [
        Suggestion("kubernetes.rollback", "Roll back checkout to its previous revision", {})
    ]


def test_the_suggested_rollback_previews_what_its_label_says(kube_api, make_target, rollback):
    result = probe_result("kubernetes.rollout", make_target())
    [suggestion] = rollback.suggest("kubernetes.rollout", result)
    preview = preview_of(rollback, make_target(), kube_api, suggestion.params)
    assert preview["details"]["to_revision"] == 3


def test_crashlooping_and_oomkilled_pods_suggest_a_restart(kube_api, make_target):
    result = probe_result("kubernetes.pods", make_target())
    assert RolloutRestart().suggest("kubernetes.pods", result) == [
        Suggestion(
            "kubernetes.rollout_restart",
            "Restart checkout (1 pod in CrashLoopBackOff, 1 pod OOMKilled)",
            {},
        )
    ]
    assert Rollback().suggest("kubernetes.pods", result) == []


def test_cpu_at_its_limit_suggests_scaling_by_half_again(kube_api, make_target):
    result = probe_result("kubernetes.resources", make_target())
    [suggestion] = Scale().suggest("kubernetes.resources", result)
    assert suggestion == Suggestion(
        "kubernetes.scale",
        "Scale checkout from 3 to 5 replicas (CPU near its limit in 1 of 3 pods)",
        {"replicas": 5},
    )
    assert Scale().validate_params(suggestion.params) == {"replicas": 5}


def test_a_healthy_deployment_suggests_nothing(kube_api, make_target):
    target, restart = make_target(), RolloutRestart()
    kube_api.run_controller(reads=1)
    execute(restart, target, preview_of(restart, target, kube_api))  # completes on the next read

    rollout = probe_result("kubernetes.rollout", target)
    pods = probe_result("kubernetes.pods", target)

    assert rollout["summary"].startswith("rollout complete")
    assert Rollback().suggest("kubernetes.rollout", rollout) == []
    assert restart.suggest("kubernetes.rollout", rollout) == []
    assert restart.suggest("kubernetes.pods", pods) == []
