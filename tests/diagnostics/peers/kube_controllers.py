"""What the fake API server does besides answering: discovery for kubectl, and the controllers.

`DISCOVERY` holds the legacy discovery documents kubectl reads before it can map
`deployment/checkout` to a path. The controllers, in miniature: once `FakeKubeApi.run_controller`
is called, a PATCH that changes a deployment's pod template starts a rollout
(`start_rollout`) that the N-th later GET of the deployment completes (`observe_rollout`), with
what the deployment and ReplicaSet controllers would leave behind.
"""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime

from .kube_scenario import template_pod

REVISION = "deployment.kubernetes.io/revision"

# --- discovery, for kubectl ---------------------------------------------------------------------
# The legacy (unaggregated) discovery documents kubectl reads before it can map
# `deployment/checkout` to a path; it falls back to them when the aggregated form is not offered.


def _resources(group_version: str, resources: list[tuple[str, str, bool, list[str]]]) -> dict:
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": [
            {
                "name": name,
                "singularName": "",
                "namespaced": namespaced,
                "kind": kind,
                "verbs": verbs,
            }
            for name, kind, namespaced, verbs in resources
        ],
    }


def _group(name: str, version: str) -> dict:
    group_version = {"groupVersion": f"{name}/{version}", "version": version}
    return {"name": name, "versions": [group_version], "preferredVersion": group_version}


READ = ["get", "list", "watch"]
DISCOVERY = {
    "/version": {"major": "1", "minor": "32", "gitVersion": "v1.32.0", "platform": "linux/amd64"},
    "/api": {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []},
    "/apis": {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [
            _group("apps", "v1"),
            _group("autoscaling", "v2"),
            _group("networking.k8s.io", "v1"),
            _group("metrics.k8s.io", "v1beta1"),
        ],
    },
    "/api/v1": _resources(
        "v1",
        [
            ("pods", "Pod", True, READ),
            ("pods/log", "Pod", True, ["get"]),
            ("events", "Event", True, READ),
            ("endpoints", "Endpoints", True, READ),
        ],
    ),
    "/apis/apps/v1": _resources(
        "apps/v1",
        [
            ("deployments", "Deployment", True, [*READ, "patch"]),
            ("deployments/scale", "Scale", True, ["get", "patch"]),
            ("replicasets", "ReplicaSet", True, READ),
        ],
    ),
    "/apis/autoscaling/v2": _resources(
        "autoscaling/v2", [("horizontalpodautoscalers", "HorizontalPodAutoscaler", True, READ)]
    ),
    "/apis/networking.k8s.io/v1": _resources(
        "networking.k8s.io/v1", [("networkpolicies", "NetworkPolicy", True, READ)]
    ),
    "/apis/metrics.k8s.io/v1beta1": _resources(
        "metrics.k8s.io/v1beta1", [("pods", "PodMetrics", True, ["get", "list"])]
    ),
}


# --- the controllers, in miniature -------------------------------------------------------------


def start_rollout(state: dict) -> None:
    controller = state.get("controller")
    if controller is not None:
        controller["pending"] = controller["reads"]


def observe_rollout(state: dict, deployment: dict) -> None:
    """Count a GET of the deployment; on the configured one, finish the pending rollout."""
    controller = state.get("controller")
    if not controller or controller["pending"] is None:
        return
    controller["pending"] -= 1
    if controller["pending"] <= 0:
        controller["pending"] = None
        _complete_rollout(state, deployment, pods_ready=controller["pods_ready"])


def _revision(item: dict) -> int:
    return int((item["metadata"].get("annotations") or {}).get(REVISION) or 0)


def _complete_rollout(state: dict, deployment: dict, *, pods_ready: bool) -> None:
    meta, spec = deployment["metadata"], deployment["spec"]
    name, namespace, desired = meta["name"], meta["namespace"], spec.get("replicas", 1)
    template = spec["template"]
    owned = [
        rs
        for rs in state.get("replicasets") or []
        if rs["metadata"].get("namespace") == namespace
        and any(o.get("name") == name for o in rs["metadata"].get("ownerReferences") or [])
    ]
    newest = max((_revision(rs) for rs in owned), default=0)
    current = next((rs for rs in owned if _without_hash(rs["spec"]["template"]) == template), None)
    if current is None:
        template_hash = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()
        current = _new_replicaset(deployment, f"{name}-{template_hash[:10]}")
        state.setdefault("replicasets", []).append(current)
        owned.append(current)
    revision = _revision(current) if _revision(current) == newest else newest + 1
    current["metadata"].setdefault("annotations", {})[REVISION] = str(revision)
    meta.setdefault("annotations", {})[REVISION] = str(revision)
    for rs in owned:
        replicas = desired if rs is current else 0
        rs["spec"]["replicas"] = replicas
        rs["status"] = {"replicas": replicas, "fullyLabeledReplicas": replicas}
        if replicas:
            rs["status"].update(readyReplicas=replicas, availableReplicas=replicas)
    now = datetime.now(UTC).replace(microsecond=0)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    deployment["status"] = {
        "observedGeneration": meta.get("generation", 1),
        "replicas": desired,
        "updatedReplicas": desired,
        "readyReplicas": desired,
        "availableReplicas": desired,
        "conditions": [
            {
                "type": "Available",
                "status": "True",
                "reason": "MinimumReplicasAvailable",
                "message": "Deployment has minimum availability.",
                "lastUpdateTime": stamp,
                "lastTransitionTime": stamp,
            },
            {
                "type": "Progressing",
                "status": "True",
                "reason": "NewReplicaSetAvailable",
                "message": f'ReplicaSet "{current["metadata"]["name"]}" has successfully progressed.',
                "lastUpdateTime": stamp,
                "lastTransitionTime": stamp,
            },
        ],
    }
    owned_names = {rs["metadata"]["name"] for rs in owned}
    state["pods"] = [
        pod
        for pod in state.get("pods") or []
        if not any(
            o.get("name") in owned_names for o in pod["metadata"].get("ownerReferences") or []
        )
    ]
    rs_name = current["metadata"]["name"]
    for index in range(desired):
        state["pods"].append(
            template_pod(
                f"{rs_name}-r{index:04d}",
                rs_name,
                current["spec"]["template"],
                created=now,
                ready=pods_ready,
                node=f"node-{'abc'[index % 3]}",
                ip=f"10.1.9.{10 + index}",
            )
        )


def _without_hash(template: dict) -> dict:
    template = copy.deepcopy(template)
    template.get("metadata", {}).get("labels", {}).pop("pod-template-hash", None)
    return template


def _new_replicaset(deployment: dict, name: str) -> dict:
    meta = deployment["metadata"]
    template = copy.deepcopy(deployment["spec"]["template"])
    template_hash = name.rsplit("-", 1)[1]
    template["metadata"].setdefault("labels", {})["pod-template-hash"] = template_hash
    selector = copy.deepcopy(deployment["spec"]["selector"])
    selector.setdefault("matchLabels", {})["pod-template-hash"] = template_hash
    return {
        "metadata": {
            "name": name,
            "namespace": meta["namespace"],
            "uid": f"uid-{name}",
            "resourceVersion": "190001",
            "creationTimestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "labels": template["metadata"]["labels"],
            "annotations": {},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": meta["name"],
                    "uid": meta.get("uid", ""),
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {"replicas": 0, "selector": selector, "template": template},
        "status": {"replicas": 0},
    }
