"""kubernetes.rollout: where the deployment's rollout stands.

Desired / updated / available replicas, the generation the controller has observed, the
Progressing and Available conditions, and the new vs old ReplicaSets (by the
`deployment.kubernetes.io/revision` annotation). A rollout past its progress deadline or a
deployment whose Available condition is False is critical; one still moving is a warning.
"""

from __future__ import annotations

from kubernetes import client as k8s

from .. import registry
from ..base import Check, ProbeResult, Status, Table
from .selectors import selector_string
from .session import KubernetesProbe, KubeSession
from .tables import MESSAGE_CHARS, bounded, iso

REVISION = "deployment.kubernetes.io/revision"
STALLED = "ProgressDeadlineExceeded"


def revision_of(obj) -> str:
    return (obj.metadata.annotations or {}).get(REVISION, "")


def owned_by(replicaset, deployment) -> bool:
    return any(
        owner.kind == "Deployment"
        and (owner.uid == deployment.metadata.uid or owner.name == deployment.metadata.name)
        for owner in replicaset.metadata.owner_references or []
    )


def replicaset_rows(replicasets: list, revision: str) -> list[list]:
    """The new ReplicaSet and the old ones still holding pods, newest revision first."""
    rows = []
    for rs in sorted(replicasets, key=lambda rs: -int(revision_of(rs) or 0)):
        status = rs.status or k8s.V1ReplicaSetStatus(replicas=0)
        desired = rs.spec.replicas or 0
        role = "new" if revision_of(rs) == revision else "old"
        if role == "old" and not (desired or status.replicas or status.ready_replicas):
            continue  # kept only as rollback history
        images = ", ".join(c.image for c in rs.spec.template.spec.containers or [])
        ready, available = status.ready_replicas or 0, status.available_replicas or 0
        rows.append([rs.metadata.name, revision_of(rs), role, desired, ready, available, images])
    return rows


def condition_check(conditions: dict, kind: str) -> Check:
    condition = conditions.get(kind)
    value = f"{condition.status} ({condition.reason})" if condition else "absent"
    if kind == "Progressing":
        broken = condition is not None and condition.reason == STALLED
        threshold = f"critical when the reason is {STALLED}"
    else:
        broken = condition is not None and condition.status == "False"
        threshold = "critical when False"
    status = Status.CRITICAL if broken else Status.OK
    return Check(f"{kind.lower()}_condition", f"{kind} condition", value, status, threshold)


def rollout_state(deployment, conditions: dict) -> str:
    spec, status = deployment.spec, deployment.status
    desired = 1 if spec.replicas is None else spec.replicas
    updated = status.updated_replicas or 0
    progressing = conditions.get("Progressing")
    if progressing is not None and progressing.reason == STALLED:
        return f"rollout stalled ({STALLED})"
    if spec.paused:
        return "rollout paused"
    behind = (status.observed_generation or 0) < (deployment.metadata.generation or 0)
    old_pods = (status.replicas or 0) > updated
    if behind or old_pods or updated < desired or (status.available_replicas or 0) < desired:
        return "rollout in progress"
    return "rollout complete"


@registry.register
class RolloutProbe(KubernetesProbe):
    name = "kubernetes.rollout"
    title = "Deployment rollout"
    description = "Replica counts, conditions and the new vs old ReplicaSets of the deployment."
    health = True

    def applies_to(self, target) -> bool:
        return bool(target.config.get("deployment"))

    def inspect(self, kube: KubeSession, params: dict) -> ProbeResult:
        deployment = kube.deployment()
        deployment.status = deployment.status or k8s.V1DeploymentStatus()
        spec, status = deployment.spec, deployment.status
        desired = 1 if spec.replicas is None else spec.replicas
        updated, available = status.updated_replicas or 0, status.available_replicas or 0
        generation = deployment.metadata.generation or 0
        observed = status.observed_generation or 0
        revision = revision_of(deployment)
        conditions = {c.type: c for c in status.conditions or []}
        selector = selector_string(spec.selector)
        listed = kube.list(
            "replicasets", kube.apps.list_namespaced_replica_set, label_selector=selector
        )
        replicasets = [rs for rs in listed if owned_by(rs, deployment)]

        availability = Status.WARNING if available < desired else Status.OK
        checks = [
            Check(
                "updated_replicas",
                "Replicas on the new revision",
                updated,
                Status.WARNING if updated < desired else Status.OK,
                f"warning below {desired} desired",
                unit=f"of {desired}",
            ),
            Check(
                "available_replicas",
                "Available replicas",
                available,
                Status.CRITICAL if desired and not available else availability,
                f"critical at 0, warning below {desired} desired",
                unit=f"of {desired}",
            ),
            Check(
                "observed_generation",
                "Generation seen by the controller",
                f"{observed}/{generation}",
                Status.WARNING if observed < generation else Status.OK,
                "warning while the controller lags the spec",
            ),
            condition_check(conditions, "Progressing"),
            condition_check(conditions, "Available"),
        ]
        if spec.paused:
            checks.append(
                Check("paused", "Rollout paused", "yes", Status.WARNING, "warning when paused")
            )
        summary = (
            f"{rollout_state(deployment, conditions)}: {updated} of {desired} updated, "
            f"{available} of {desired} available, revision {revision or '?'}"
        )
        columns = ["type", "status", "reason", "message", "last_update"]
        condition_table = Table(
            "conditions", "Conditions", columns, key=("type", "status", "reason")
        )
        for c in conditions.values():
            message = (c.message or "")[:MESSAGE_CHARS]
            condition_table.add(c.type, c.status, c.reason, message, iso(c.last_update_time))
        columns = ["replicaset", "revision", "role", "desired", "ready", "available", "image"]
        rs_table = Table("replicasets", "ReplicaSets: the new one and old ones with pods", columns)
        rs_table.key = ("replicaset",)
        raw = {
            "desired": desired,
            "updated": updated,
            "ready": status.ready_replicas or 0,
            "available": available,
            "unavailable": status.unavailable_replicas or 0,
            "generation": generation,
            "observed_generation": observed,
            "revision": revision,
            "paused": bool(spec.paused),
            "conditions": {
                t: {"status": c.status, "reason": c.reason} for t, c in conditions.items()
            },
        }
        tables = [condition_table, bounded(rs_table, replicaset_rows(replicasets, revision))]
        return ProbeResult.from_checks(summary, checks, tables=tables, raw=raw)
