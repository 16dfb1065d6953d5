"""kubernetes.rollback: put the deployment back on an earlier revision, as `kubectl rollout undo`.

The history is the deployment's ReplicaSets (owned by it), numbered by their
`deployment.kubernetes.io/revision` annotation; the previous revision is the highest one below
the deployment's own. Like kubectl, the PATCH is a JSON Patch that replaces `spec.template` with
that ReplicaSet's template minus its `pod-template-hash` label, and the deployment's annotations
with the ReplicaSet's (keeping the deployment's own revision bookkeeping). Unlike kubectl it
starts with a `test` of the revision the preview saw, so a rollout that happened in between
makes the API server reject the patch instead of undoing the wrong revision.

Templates are read and written as the server's JSON (`ActionSession.raw`): copied through the
client's models, fields unknown to this client version would be dropped from the pod spec.
Executing runs the emergency rollback workflow (`workflow.py`).
"""

from __future__ import annotations

import copy

from kubernetes import client as k8s
from rest_framework import serializers

from diagnostics.probes.kubernetes.selectors import selector_string
from diagnostics.probes.kubernetes.session import LIST_LIMIT

from .. import registry
from ..base import Action, ActionRefused, ActionResult, Change, Preview, Progress, Suggestion
from .findings import deployment_from_replicasets, previous_revision, rollout_broken, table_rows
from .session import JSON_PATCH, ActionSession, deployment_path
from .workflow import ROLLOUT, STEPS, health_targets, run_rollback

REVISION = "deployment.kubernetes.io/revision"
TEMPLATE_HASH = "pod-template-hash"
# The deployment's own bookkeeping, never copied from a ReplicaSet (kubectl's list).
KEPT_ANNOTATIONS = {
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
}
MAX_DIFFERENCES = 12


class RollbackParams(serializers.Serializer):
    to_revision = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text="Roll back to this revision (kubectl's --to-revision); default: the previous.",
    )
    rollout_timeout_s = serializers.IntegerField(
        min_value=1,
        max_value=1800,
        default=120,
        help_text="How long to wait for the rolled-back pods to be updated and available.",
    )


def revision_of(obj: dict) -> int | None:
    text = ((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION, "")
    return int(text) if str(text).isdigit() else None


def owned_by(replicaset: dict, deployment: dict) -> bool:
    meta = deployment["metadata"]
    return any(
        owner.get("kind") == "Deployment"
        and (
            owner.get("uid") == meta.get("uid")
            if meta.get("uid")
            else owner.get("name") == meta["name"]
        )
        for owner in replicaset["metadata"].get("ownerReferences") or []
    )


def label_selector(selector: dict | None) -> str:
    selector = selector or {}
    expressions = [
        k8s.V1LabelSelectorRequirement(key=e["key"], operator=e["operator"], values=e.get("values"))
        for e in selector.get("matchExpressions") or []
    ]
    model = k8s.V1LabelSelector(
        match_labels=selector.get("matchLabels"), match_expressions=expressions or None
    )
    return selector_string(model)


def history(kube: ActionSession, deployment: dict) -> list[dict]:
    """The deployment's ReplicaSets that carry a revision, newest first."""
    listing = kube.raw(
        "list replicasets",
        kube.apps.list_namespaced_replica_set,
        namespace=kube.namespace,
        label_selector=label_selector(deployment["spec"].get("selector")),
        limit=LIST_LIMIT,
    )
    owned = [
        rs
        for rs in listing.get("items") or []
        if owned_by(rs, deployment) and revision_of(rs) is not None
    ]
    return sorted(owned, key=lambda rs: -revision_of(rs))


def pick_revision(replicasets: list[dict], current: int, wanted: int | None, name: str) -> dict:
    if wanted is not None:
        if wanted == current:
            raise ActionRefused(f"{name} already runs revision {current}")
        found = next((rs for rs in replicasets if revision_of(rs) == wanted), None)
        if found is None:
            known = ", ".join(str(revision_of(rs)) for rs in reversed(replicasets)) or "none"
            raise ActionRefused(f"revision {wanted} of {name} not found (revisions: {known})")
        return found
    older = [rs for rs in replicasets if revision_of(rs) < current]
    if not older:
        raise ActionRefused(f"no previous revision of {name} to roll back to")
    return older[0]


def pinned_template(replicaset: dict) -> dict:
    """The ReplicaSet's pod template as the deployment should hold it: without the hash label."""
    template = copy.deepcopy(replicaset["spec"]["template"])
    labels = (template.get("metadata") or {}).get("labels") or {}
    labels.pop(TEMPLATE_HASH, None)
    return template


def rollback_annotations(deployment: dict, replicaset: dict) -> dict:
    own = deployment["metadata"].get("annotations") or {}
    copied = replicaset["metadata"].get("annotations") or {}
    annotations = {k: v for k, v in own.items() if k in KEPT_ANNOTATIONS}
    annotations.update({k: v for k, v in copied.items() if k not in KEPT_ANNOTATIONS})
    return annotations


def rollback_patch(deployment: dict, replicaset: dict) -> list[dict]:
    annotations = deployment["metadata"].get("annotations")
    revision = (annotations or {}).get(REVISION)
    operations = []
    if revision is not None:
        path = "/metadata/annotations/" + REVISION.replace("~", "~0").replace("/", "~1")
        operations.append({"op": "test", "path": path, "value": revision})
    operations.append(
        {"op": "replace", "path": "/spec/template", "value": pinned_template(replicaset)}
    )
    operations.append(
        {
            "op": "replace" if annotations is not None else "add",
            "path": "/metadata/annotations",
            "value": rollback_annotations(deployment, replicaset),
        }
    )
    return operations


def container_images(template: dict) -> dict[str, str]:
    return {c["name"]: c.get("image", "") for c in template["spec"].get("containers") or []}


def other_differences(current: dict, pinned: dict) -> list[str]:
    """Pod-template fields besides the images that the rollback changes, as dotted names."""
    found = []
    for key in sorted(set(current.get("metadata") or {}) | set(pinned.get("metadata") or {})):
        if (current.get("metadata") or {}).get(key) != (pinned.get("metadata") or {}).get(key):
            found.append(f"metadata.{key}")
    spec, pinned_spec = current.get("spec") or {}, pinned.get("spec") or {}
    for key in sorted((set(spec) | set(pinned_spec)) - {"containers"}):
        if spec.get(key) != pinned_spec.get(key):
            found.append(f"spec.{key}")
    before = {c["name"]: c for c in spec.get("containers") or []}
    after = {c["name"]: c for c in pinned_spec.get("containers") or []}
    for name in sorted(set(before) & set(after)):
        fields = (set(before[name]) | set(after[name])) - {"image"}
        found += [
            f"{name}.{f}" for f in sorted(fields) if before[name].get(f) != after[name].get(f)
        ]
    return found


def image_changes(current: dict, pinned: dict) -> list[Change]:
    before, after = container_images(current), container_images(pinned)
    return [
        Change(f"image of container {name}", before.get(name), after.get(name))
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    ]


@registry.register
class Rollback(Action):
    name = "kubernetes.rollback"
    kind = "kubernetes"
    title = "Roll back deployment"
    description = (
        "Put the deployment's pod template back to its previous revision (kubectl rollout "
        "undo), then wait for the rollout, verify the pods are ready and check service health."
    )
    params_class = RollbackParams
    approval_on_high_severity = True
    suggested_by = ("kubernetes.rollout",)
    default_timeout_s = 30.0  # per step; the rollout wait has its own rollout_timeout_s
    poll_interval_s = 2.0  # between reads of the deployment while waiting for the rollout

    def preview(self, target, params: dict, timeout_s: float) -> Preview:
        with ActionSession(target.config, timeout_s) as kube:
            deployment = kube.raw_deployment()
            if deployment["spec"].get("paused"):
                raise ActionRefused(
                    f"deployment {kube.name} is paused: resume its rollout before rolling back"
                )
            replicasets = history(kube, deployment)
        current = revision_of(deployment) or max(map(revision_of, replicasets), default=0)
        chosen = pick_revision(replicasets, current, params.get("to_revision"), kube.name)
        to_revision = revision_of(chosen)
        template, pinned = deployment["spec"]["template"], pinned_template(chosen)
        if template == pinned:
            raise ActionRefused(f"{kube.name} already runs the template of revision {to_revision}")
        body = rollback_patch(deployment, chosen)
        subject = f"deployment {kube.namespace}/{kube.name}"
        changes = [Change(f"revision of {subject}", str(current), str(to_revision))]
        changes += image_changes(template, pinned)
        others = other_differences(template, pinned)
        if others:
            shown = ", ".join(others[:MAX_DIFFERENCES])
            more = (
                f" and {len(others) - MAX_DIFFERENCES} more"
                if len(others) > MAX_DIFFERENCES
                else ""
            )
            changes.append(
                Change("other pod-template fields", f"as revision {current}", shown + more)
            )
        new_annotations = body[-1]["value"]
        old_annotations = deployment["metadata"].get("annotations") or {}
        for key in sorted(set(old_annotations) | set(new_annotations)):
            if old_annotations.get(key) != new_annotations.get(key):
                changes.append(
                    Change(f"annotation {key}", old_annotations.get(key), new_annotations.get(key))
                )
        timeout = params["rollout_timeout_s"]
        warnings = []
        if not health_targets(target):
            warnings.append("no enabled HTTP target on this service: health will not be checked")
        images = ", ".join(container_images(pinned).values())
        return Preview(
            summary=f"Roll back {subject} from revision {current} to {to_revision} ({images})",
            changes=changes,
            details={
                "method": "PATCH",
                "path": deployment_path(target.config),
                "content_type": JSON_PATCH,
                "body": body,
                "from_revision": current,
                "to_revision": to_revision,
                "replicaset": chosen["metadata"]["name"],
                "rollout_timeout_s": timeout,
                "steps": [f"{s} (timeout {timeout} s)" if s == ROLLOUT else s for s in STEPS],
            },
            warnings=warnings,
            basis={
                "revision": current,
                "to_revision": to_revision,
                "to_replicaset": chosen["metadata"]["name"],
            },
        )

    def execute(
        self, target, params: dict, preview: dict, timeout_s: float, progress: Progress = None
    ) -> ActionResult:
        return run_rollback(
            target, preview, timeout_s, progress=progress, poll_interval_s=self.poll_interval_s
        )

    def suggest(self, probe_name: str, result: dict) -> list[Suggestion]:
        if probe_name != "kubernetes.rollout" or not rollout_broken(result):
            return []
        rows = table_rows(result, "replicasets")
        name = deployment_from_replicasets(rows) or "the deployment"
        previous = previous_revision(rows, (result.get("raw") or {}).get("revision"))
        if previous is None:
            return [Suggestion(self.name, f"Roll back {name} to its previous revision", {})]
        label = f"Roll back {name} to revision {previous}"
        return [Suggestion(self.name, label, {"to_revision": previous})]
