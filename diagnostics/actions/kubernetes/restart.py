"""kubernetes.rollout_restart: replace the deployment's pods, as `kubectl rollout restart` does.

The restart is a strategic-merge PATCH of the pod template's
`kubectl.kubernetes.io/restartedAt` annotation; the changed template makes the deployment
controller roll every pod by the deployment's strategy. The timestamp is fixed when the preview
is made and stored in it, so a retried execution sends the same body — and, finding the
annotation already at that value, sends nothing at all.
"""

from __future__ import annotations

from datetime import UTC, datetime

from .. import registry
from ..base import Action, ActionRefused, ActionResult, Change, Preview, Progress, Suggestion
from .findings import deployment_from_pods, deployment_from_replicasets, rollout_broken, table_rows
from .session import STRATEGIC_MERGE, ActionSession, deployment_path, planned_request

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


def restart_stamp(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def restart_body(stamp: str) -> dict:
    return {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}


def restarted_at(deployment) -> str | None:
    metadata = deployment.spec.template.metadata
    return ((metadata and metadata.annotations) or {}).get(RESTARTED_AT)


def images(deployment) -> dict[str, str]:
    return {c.name: c.image for c in deployment.spec.template.spec.containers or []}


def strategy_text(deployment) -> str:
    strategy = deployment.spec.strategy
    if strategy is None or strategy.type in (None, "RollingUpdate"):
        rolling = strategy.rolling_update if strategy else None
        # 0 is a valid setting for either; only an absent one takes the API's default.
        surge = "25%" if rolling is None or rolling.max_surge is None else rolling.max_surge
        unavailable = rolling.max_unavailable if rolling is not None else None
        unavailable = "25%" if unavailable is None else unavailable
        return f"rolling update, maxSurge {surge}, maxUnavailable {unavailable}"
    return f"{strategy.type} strategy"


def pods(count: int) -> str:
    return f"{count} pod" if count == 1 else f"{count} pods"


def rollout_pending(deployment) -> bool:
    status, desired = deployment.status, deployment.spec.replicas
    if status is None:
        return True
    desired = 1 if desired is None else desired
    behind = (status.observed_generation or 0) < (deployment.metadata.generation or 0)
    return behind or (status.updated_replicas or 0) < desired or (status.replicas or 0) > desired


@registry.register
class RolloutRestart(Action):
    name = "kubernetes.rollout_restart"
    kind = "kubernetes"
    title = "Rollout restart"
    description = (
        "Replace every pod of the deployment, one batch at a time by its strategy (the patch "
        "`kubectl rollout restart` sends)."
    )
    suggested_by = ("kubernetes.pods", "kubernetes.rollout")

    def preview(self, target, params: dict, timeout_s: float) -> Preview:
        with ActionSession(target.config, timeout_s) as kube:
            deployment = kube.read_deployment()
        if deployment.spec.paused:
            raise ActionRefused(
                f"deployment {kube.name} is paused: resume its rollout before restarting it"
            )
        stamp = restart_stamp()
        status = deployment.status
        replicas = 1 if deployment.spec.replicas is None else deployment.spec.replicas
        ready = (status and status.ready_replicas) or 0
        current = restarted_at(deployment)
        subject = f"deployment {kube.namespace}/{kube.name}"
        warnings = []
        if deployment.spec.strategy and deployment.spec.strategy.type == "Recreate":
            warnings.append("Recreate strategy: every pod stops before the new ones start")
        if rollout_pending(deployment):
            warnings.append("a rollout is still in progress: the restart starts another one")
        if replicas == 0:
            warnings.append("the deployment has 0 replicas: there is no pod to restart")
        return Preview(
            summary=f"Restart {subject}: replace its {replicas} pods ({strategy_text(deployment)})",
            changes=[
                Change(f"pods of {subject}", f"{replicas} replicas, {ready} ready", "replaced"),
                Change(f"pod template annotation {RESTARTED_AT}", current, stamp),
            ],
            details={
                "method": "PATCH",
                "path": deployment_path(target.config),
                "content_type": STRATEGIC_MERGE,
                "body": restart_body(stamp),
                "restarted_at": stamp,
            },
            warnings=warnings,
            basis={"restarted_at": current, "images": images(deployment)},
        )

    def execute(
        self, target, params: dict, preview: dict, timeout_s: float, progress: Progress = None
    ) -> ActionResult:
        request = planned_request(preview, target.config)
        stamp = request["restarted_at"]
        with ActionSession(target.config, timeout_s) as kube:
            if restarted_at(kube.read_deployment()) == stamp:
                return ActionResult(
                    ok=True,
                    summary=f"{kube.name} was already restarted at {stamp}: nothing sent",
                    details={"sent": False, "restarted_at": stamp},
                )
            patched = kube.patch(
                "patch deployments", kube.apps.patch_namespaced_deployment, request["body"]
            )
        return ActionResult(
            ok=True,
            summary=f"{kube.name} restarted (restartedAt {stamp})",
            details={
                "sent": True,
                "restarted_at": stamp,
                "generation": patched.metadata.generation,
            },
        )

    def suggest(self, probe_name: str, result: dict) -> list[Suggestion]:
        if probe_name == "kubernetes.pods":
            raw = result.get("raw") or {}
            crashloop, oom = raw.get("crashloop") or [], raw.get("oom_killed_recently") or []
            if not crashloop and not oom:
                return []
            reasons = []
            if crashloop:
                reasons.append(f"{pods(len(crashloop))} in CrashLoopBackOff")
            if oom:
                reasons.append(f"{pods(len(oom))} OOMKilled")
            name = deployment_from_pods([*crashloop, *oom])
            label = f"Restart {name or 'the deployment'} ({', '.join(reasons)})"
            return [Suggestion(self.name, label, {})]
        if probe_name == "kubernetes.rollout" and rollout_broken(result):
            name = deployment_from_replicasets(table_rows(result, "replicasets"))
            return [Suggestion(self.name, f"Restart {name or 'the deployment'}", {})]
        return []
