"""kubernetes.scale: set a deployment's replicas through its scale subresource.

The bounds come from the target's config (`min_replicas`, `max_replicas`); without them a
deployment may go from 0 to 50 replicas, and the preview warns when 0 would stop the service.
A HorizontalPodAutoscaler managing the deployment would undo a manual scale within a minute,
so the preview looks for one and says so. Setting N replicas is idempotent: an execution that
finds N already there sends nothing.
"""

from __future__ import annotations

import math

from kubernetes import client as k8s
from rest_framework import serializers

from diagnostics.probes.kubernetes.session import KubeApiError

from .. import registry
from ..base import Action, ActionRefused, ActionResult, Change, Preview, Progress, Suggestion
from .findings import deployment_from_pods, table_rows
from .session import STRATEGIC_MERGE, ActionSession, deployment_path, planned_request

DEFAULT_MIN_REPLICAS = 0
DEFAULT_MAX_REPLICAS = 50
CPU_RISK = "CPU near its limit: throttling risk"  # kubernetes.resources' finding


class ScaleParams(serializers.Serializer):
    replicas = serializers.IntegerField(
        min_value=0, max_value=10_000, help_text="The number of pods the deployment should run."
    )


def replica_bounds(config: dict) -> tuple[int, int, bool]:
    """(min, max, whether the target sets them) for this target."""
    low, high = config.get("min_replicas"), config.get("max_replicas")
    configured = low is not None or high is not None
    low = DEFAULT_MIN_REPLICAS if low is None else int(low)
    high = DEFAULT_MAX_REPLICAS if high is None else int(high)
    return low, high, configured


def check_bounds(target, replicas: int) -> dict:
    low, high, configured = replica_bounds(target.config)
    if not low <= replicas <= high:
        raise ActionRefused(f"target {target.name} allows {low}–{high} replicas, not {replicas}")
    return {"min": low, "max": high, "from": "target" if configured else "default"}


def autoscaler_warning(kube: ActionSession) -> str | None:
    autoscaling = k8s.AutoscalingV2Api(kube.api_client)
    try:
        autoscalers = kube.list(
            "horizontalpodautoscalers", autoscaling.list_namespaced_horizontal_pod_autoscaler
        )
    except KubeApiError as exc:
        if exc.status in (403, 404):
            return f"could not check for a HorizontalPodAutoscaler (HTTP {exc.status})"
        raise
    for hpa in autoscalers:
        ref = hpa.spec.scale_target_ref
        if ref.kind == "Deployment" and ref.name == kube.name:
            low, high = hpa.spec.min_replicas or 1, hpa.spec.max_replicas
            return (
                f"HorizontalPodAutoscaler {hpa.metadata.name} manages this deployment "
                f"({low}–{high} replicas): it will change the count again"
            )
    return None


@registry.register
class Scale(Action):
    name = "kubernetes.scale"
    kind = "kubernetes"
    title = "Scale deployment"
    description = (
        "Set the deployment's replica count (scale subresource), within the target's bounds."
    )
    params_class = ScaleParams
    suggested_by = ("kubernetes.resources",)

    def preview(self, target, params: dict, timeout_s: float) -> Preview:
        replicas = params["replicas"]
        bounds = check_bounds(target, replicas)
        with ActionSession(target.config, timeout_s) as kube:
            scale = kube.read_scale()
            autoscaler = autoscaler_warning(kube)
        current = scale.spec.replicas or 0
        running = (scale.status and scale.status.replicas) or 0
        subject = f"deployment {kube.namespace}/{kube.name}"
        warnings = [autoscaler] if autoscaler else []
        if replicas == 0:
            warnings.append(f"scaling to 0 stops every pod of {kube.name}: the service goes down")
        if replicas == current:
            warnings.append(f"{kube.name} already has {current} replicas: nothing will change")
        return Preview(
            summary=f"Scale {subject} from {current} to {replicas} replicas",
            changes=[Change(f"replicas of {subject}", current, replicas)],
            details={
                "method": "PATCH",
                "path": deployment_path(target.config) + "/scale",
                "content_type": STRATEGIC_MERGE,
                "body": {"spec": {"replicas": replicas}},
                "running": running,
                "bounds": bounds,
            },
            warnings=warnings,
            basis={"replicas": current},
        )

    def execute(
        self, target, params: dict, preview: dict, timeout_s: float, progress: Progress = None
    ) -> ActionResult:
        request = planned_request(preview, target.config, "/scale")
        replicas = request["body"]["spec"]["replicas"]
        check_bounds(target, replicas)  # the config may have changed since the preview
        with ActionSession(target.config, timeout_s) as kube:
            current = kube.read_scale().spec.replicas or 0
            if current == replicas:
                return ActionResult(
                    ok=True,
                    summary=f"{kube.name} already has {replicas} replicas: nothing sent",
                    details={"sent": False, "replicas": replicas},
                )
            kube.patch(
                "patch deployments/scale",
                kube.apps.patch_namespaced_deployment_scale,
                request["body"],
            )
        return ActionResult(
            ok=True,
            summary=f"{kube.name} scaled from {current} to {replicas} replicas",
            details={"sent": True, "replicas": replicas, "before": current},
        )

    def suggest(self, probe_name: str, result: dict) -> list[Suggestion]:
        """CPU at its limit: spread the load over half as many pods again."""
        if probe_name != "kubernetes.resources":
            return []
        hot = {r["pod"] for r in table_rows(result, "findings") if r.get("finding") == CPU_RISK}
        pods = [r["pod"] for r in table_rows(result, "top_pods")]
        if not hot or not pods:
            return []
        target_replicas = math.ceil(len(pods) * 1.5)
        name = deployment_from_pods(pods) or "the deployment"
        label = (
            f"Scale {name} from {len(pods)} to {target_replicas} replicas "
            f"(CPU near its limit in {len(hot)} of {len(pods)} pods)"
        )
        return [Suggestion(self.name, label, {"replicas": target_replicas})]
