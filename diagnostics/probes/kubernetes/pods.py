"""kubernetes.pods: readiness, restarts and the last termination reason of the target's pods.

Critical when a pod is in CrashLoopBackOff, was OOMKilled recently, cannot start (image pull,
config errors) or when no pod is ready; warning when some pod is not ready or restarted often.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from kubernetes import client as k8s
from rest_framework import serializers

from .. import registry
from ..base import Check, ProbeResult, Status, Table, level
from .session import KubernetesProbe, KubeSession
from .tables import EPOCH, MAX_ROWS, age_text, bounded

DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container"
START_ERRORS = {
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
}
COLUMNS = ["pod", "phase", "ready", "restarts", "reason", "last_termination", "exit_code"]
COLUMNS += ["image", "node", "age"]


@dataclass
class PodView:
    """What the probe understands of one pod."""

    name: str
    phase: str
    ready: bool
    containers_ready: int
    containers: int
    restarts: int
    waiting_reason: str  # CrashLoopBackOff, Init:ImagePullBackOff, …
    last_termination: str  # OOMKilled, Error, Completed
    exit_code: int | None
    terminated_at: datetime | None
    image: str
    node: str
    created: datetime | None

    def oom_killed_since(self, moment: datetime) -> bool:
        return self.last_termination == "OOMKilled" and (self.terminated_at or EPOCH) >= moment

    def row(self, now: datetime) -> list:
        ready = f"{self.containers_ready}/{self.containers}"
        return [
            *(self.name, self.phase, ready, self.restarts, self.waiting_reason),
            *(self.last_termination, self.exit_code, self.image, self.node),
            age_text(self.created, now),
        ]


def chosen_container(pod, configured: str | None):
    """The container the target means: the configured one (None when the pod lacks it), else
    kubectl's default-container annotation, else the first."""
    containers = pod.spec.containers or []
    if configured:
        return next((c for c in containers if c.name == configured), None)
    default = (pod.metadata.annotations or {}).get(DEFAULT_CONTAINER)
    return next((c for c in containers if c.name == default), containers[0] if containers else None)


def is_ready(pod) -> bool:
    conditions = (pod.status and pod.status.conditions) or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def waiting_reason(status) -> str:
    """The first container waiting on something; init containers first, as kubectl shows."""
    for prefix, statuses in (
        ("Init:", status.init_container_statuses),
        ("", status.container_statuses),
    ):
        for s in statuses or []:
            reason = s.state and s.state.waiting and s.state.waiting.reason
            if reason and reason not in ("PodInitializing", "ContainerCreating"):
                return prefix + reason
    return ""


def pod_view(pod, configured_container: str | None) -> PodView:
    status = pod.status or k8s.V1PodStatus()
    statuses = status.container_statuses or []
    # The most recent termination of any container, current or previous instance.
    terminations = [
        t
        for s in statuses
        for t in (s.state and s.state.terminated, s.last_state and s.last_state.terminated)
        if t
    ]
    last = max(terminations, key=lambda t: t.finished_at or EPOCH, default=None)
    container = chosen_container(pod, configured_container)
    return PodView(
        name=pod.metadata.name,
        phase=status.phase or "",
        ready=is_ready(pod),
        containers_ready=sum(1 for s in statuses if s.ready),
        containers=len(pod.spec.containers or []),
        restarts=sum(s.restart_count or 0 for s in statuses),
        waiting_reason=waiting_reason(status),
        last_termination=(last.reason or "") if last else "",
        exit_code=last.exit_code if last else None,
        terminated_at=last.finished_at if last else None,
        image=container.image if container else "",
        node=pod.spec.node_name or "",
        created=pod.metadata.creation_timestamp,
    )


class PodsParams(serializers.Serializer):
    restarts_warning = serializers.IntegerField(
        min_value=1, max_value=100_000, default=5, help_text="Warn when a pod restarted this often."
    )
    recent_minutes = serializers.IntegerField(
        min_value=1,
        max_value=10_080,
        default=60,
        help_text="An OOMKill that ended within this many minutes is recent (critical).",
    )


def count_check(name: str, label: str, names: list[str]) -> Check:
    return Check(name, label, len(names), level(len(names), warning=1, critical=1), "critical ≥ 1")


@registry.register
class PodsProbe(KubernetesProbe):
    name = "kubernetes.pods"
    title = "Pods: phase, readiness, restarts"
    description = "Readiness, restarts and last termination reason of the target's pods."
    params_class = PodsParams
    health = True

    def inspect(self, kube: KubeSession, params: dict) -> ProbeResult:
        now = datetime.now(UTC)
        selector = kube.pod_selector()
        views = [pod_view(pod, kube.config.get("container")) for pod in kube.pods()]
        minutes, restarts_warning = params["recent_minutes"], params["restarts_warning"]
        recent = now - timedelta(minutes=minutes)
        ready = sum(1 for v in views if v.ready)
        crashloop = [v.name for v in views if v.waiting_reason.endswith("CrashLoopBackOff")]
        start_errors = [v.name for v in views if v.waiting_reason.split(":")[-1] in START_ERRORS]
        oom_killed = [v.name for v in views if v.oom_killed_since(recent)]
        max_restarts = max((v.restarts for v in views), default=0)

        readiness = Status.CRITICAL if ready == 0 else level(len(views) - ready, warning=1)
        checks = [
            Check(
                "pods_ready",
                "Pods ready",
                ready,
                readiness,
                "critical when none ready, warning when any is not ready",
                unit=f"of {len(views)}",
            ),
            count_check("crashloop_pods", "Pods in CrashLoopBackOff", crashloop),
            count_check(
                "oom_killed_recently", f"Pods OOMKilled in the last {minutes} min", oom_killed
            ),
            count_check("start_errors", "Pods failing to start (image, config)", start_errors),
            Check(
                "max_restarts",
                "Most restarts of one pod",
                max_restarts,
                level(max_restarts, warning=restarts_warning),
                f"warning ≥ {restarts_warning}",
            ),
        ]
        parts = [f"{ready} of {len(views)} pods ready"]
        for names, text in (
            (crashloop, "in CrashLoopBackOff"),
            (oom_killed, f"OOMKilled in the last {minutes} min"),
            (start_errors, "failing to start"),
        ):
            if names:
                parts.append(f"{len(names)} {text}")
        if max_restarts >= restarts_warning:
            parts.append(f"up to {max_restarts} restarts")
        summary = "; ".join(parts) if views else f"no pods match {selector} in {kube.namespace}"

        views.sort(key=lambda v: (v.ready, -v.restarts, v.name))  # trouble first
        table = Table("pods", "Pods", COLUMNS, key=("pod",))
        raw = {
            "selector": selector,
            "pods": len(views),
            "ready": ready,
            "crashloop": crashloop,
            "oom_killed_recently": oom_killed,
            "start_errors": start_errors,
            "restarts": {v.name: v.restarts for v in views[:MAX_ROWS]},
        }
        table = bounded(table, [v.row(now) for v in views])
        return ProbeResult.from_checks(summary, checks, tables=[table], raw=raw)
