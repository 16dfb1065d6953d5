"""The emergency rollback workflow, from the operations guide: patch, wait, verify, check health.

1. Roll back the pod template (the previewed JSON Patch). A retried execution that finds the
   template already equal to the pinned revision's sends nothing and goes on with the checks.
2. Wait for the rollout as `kubectl rollout status` does — the controller has seen the new
   generation, every replica is updated, no old one is left, the updated ones are available —
   polling the deployment until `rollout_timeout_s`. A rollout past its progress deadline fails
   at once; a read that fails is retried until the timeout.
3. Verify the pods: every pod of the selector that is not terminating is ready, and at least
   the desired number are.
4. Check the service's health with the `http.health` probe on each enabled HTTP target of the
   target's service (critical or error fails the step).

Each step is reported through `progress` as it ends and returned in `ActionResult.steps`; the
workflow stops at the first failing step. Failing to patch (forbidden, unreachable, the revision
moved) raises, since nothing changed; once the patch is in, failures are steps, so the result
says what state the deployment was left in. Notifying stakeholders is the caller's step.
"""

from __future__ import annotations

import time

from diagnostics.probes import registry as probes
from diagnostics.probes.base import ProbeUnreachable, Status
from diagnostics.probes.kubernetes.pods import is_ready
from diagnostics.probes.kubernetes.selectors import selector_string
from diagnostics.probes.kubernetes.session import KubeApiError
from diagnostics.runner import run_probe

from ..base import ActionRefused, ActionResult, Progress
from .session import ActionSession, planned_request

STALLED = "ProgressDeadlineExceeded"
HEALTH_PROBE = "http.health"
# The steps' names, as progress reports and the timeline show them.
ROLLBACK, ROLLOUT, PODS, HEALTH = STEPS = (
    "roll back the pod template",
    "wait for the rollout",
    "verify the pods are ready",
    "check the service health",
)
MAX_NAMES = 5
NO_HEALTH_TARGET = "no health target to check"


def health_targets(target) -> list:
    """The enabled HTTP targets of the target's service (none for a target without one)."""
    if not getattr(target, "service_id", None):
        return []
    return list(target.service.targets.filter(kind="http", enabled=True).order_by("name"))


def rollout_status(deployment, generation: int) -> tuple[bool | None, str]:
    """(True: complete, False: failed, None: still going) and why, by kubectl's rules."""
    spec, status = deployment.spec, deployment.status
    desired = 1 if spec.replicas is None else spec.replicas
    observed = (status and status.observed_generation) or 0
    if status is None or observed < generation:
        return None, f"waiting for the controller to observe generation {generation}"
    progressing = next((c for c in status.conditions or [] if c.type == "Progressing"), None)
    if progressing is not None and progressing.reason == STALLED:
        return False, f"the rollout exceeded its progress deadline: {progressing.message or ''}"
    updated, total = status.updated_replicas or 0, status.replicas or 0
    available = status.available_replicas or 0
    if updated < desired:
        return None, f"{updated} of {desired} replicas updated"
    if total > updated:
        return None, f"{total - updated} old replicas pending termination"
    if available < updated:
        return None, f"{available} of {updated} updated replicas available"
    return True, f"{desired} of {desired} replicas updated and available"


class Workflow:
    def __init__(self, kube: ActionSession, timeout_s: float, progress: Progress):
        self.kube, self.timeout_s, self.progress = kube, timeout_s, progress
        self.steps: list[dict] = []
        self.sent = False  # whether step 1 sent the patch (False on a retry that found it done)

    def record(self, name: str, ok: bool, summary: str) -> bool:
        step = {"name": name, "ok": ok, "summary": summary}
        self.steps.append(step)
        if self.progress is not None:
            self.progress(step)
        return ok

    def roll_back(self, request: dict, to_revision: int) -> int:
        """Step 1; the generation whose rollout to wait for."""
        kube = self.kube
        kube.renew(self.timeout_s)
        current = kube.raw_deployment()
        pinned = next(op["value"] for op in request["body"] if op["path"] == "/spec/template")
        if current["spec"]["template"] == pinned:
            self.record(
                ROLLBACK, True, f"already at revision {to_revision}'s template: nothing sent"
            )
            return current["metadata"].get("generation") or 0
        try:
            patched = kube.patch(
                "patch deployments", kube.apps.patch_namespaced_deployment, request["body"]
            )
        except KubeApiError as exc:
            if exc.status == 422 and "test" in exc.api_message:
                raise ActionRefused(
                    f"{kube.name} was rolled out again since the preview: preview again"
                ) from None
            raise
        self.sent = True
        self.record(ROLLBACK, True, f"template of revision {to_revision} patched into {kube.name}")
        return patched.metadata.generation or 0

    def wait_for_rollout(self, generation: int, rollout_timeout_s: float, poll_interval_s: float):
        """Step 2; the deployment as last read (None when it could not be read)."""
        deadline = time.monotonic() + rollout_timeout_s
        deployment, state = None, "no answer yet"
        while True:
            # Each read gets the per-call budget, but never much beyond the rollout deadline.
            self.kube.renew(max(1.0, min(self.timeout_s, deadline - time.monotonic())))
            try:
                deployment = self.kube.read_deployment()
                done, state = rollout_status(deployment, generation)
            except (ProbeUnreachable, ActionRefused) as exc:
                done, state = None, f"last read failed: {exc}"
            if done is not None:
                self.record(ROLLOUT, done, state)
                return deployment if done else None
            left = deadline - time.monotonic()
            if left <= 0:
                self.record(ROLLOUT, False, f"timed out after {rollout_timeout_s:g} s: {state}")
                return None
            time.sleep(min(poll_interval_s, left))

    def verify_pods(self, deployment) -> bool:
        kube = self.kube
        kube.renew(self.timeout_s)
        selector = kube.config.get("label_selector") or selector_string(deployment.spec.selector)
        desired = 1 if deployment.spec.replicas is None else deployment.spec.replicas
        try:
            pods = kube.list("pods", kube.core.list_namespaced_pod, label_selector=selector)
        except ProbeUnreachable as exc:
            return self.record(PODS, False, f"could not list the pods: {exc}")
        live = [p for p in pods if p.metadata.deletion_timestamp is None]
        not_ready = sorted(p.metadata.name for p in live if not is_ready(p))
        ready = len(live) - len(not_ready)
        if not_ready:
            names = ", ".join(not_ready[:MAX_NAMES])
            more = f" and {len(not_ready) - MAX_NAMES} more" if len(not_ready) > MAX_NAMES else ""
            return self.record(
                PODS, False, f"{ready} of {len(live)} pods ready; not ready: {names}{more}"
            )
        if ready < desired:
            return self.record(PODS, False, f"{ready} pods ready, {desired} desired")
        return self.record(PODS, True, f"{ready} of {len(live)} pods ready")

    def check_health(self, target) -> bool:
        targets = health_targets(target)
        if not targets:
            return self.record(HEALTH, True, NO_HEALTH_TARGET)
        probe = probes.get(HEALTH_PROBE)
        params = probe.validate_params({})
        timeout_s = min(self.timeout_s, probe.default_timeout_s)
        results, healthy = [], True
        for health_target in targets:
            outcome = run_probe(probe, health_target, params, timeout_s)
            healthy &= outcome.status not in (Status.CRITICAL, Status.ERROR)
            results.append(f"{health_target.name}: {outcome.status} ({outcome.summary})")
        return self.record(HEALTH, healthy, "; ".join(results))


def run_rollback(
    target, preview: dict, timeout_s: float, *, progress: Progress, poll_interval_s: float
) -> ActionResult:
    request = planned_request(preview, target.config)
    to_revision, rollout_timeout_s = request["to_revision"], request["rollout_timeout_s"]
    with ActionSession(target.config, timeout_s) as kube:
        flow = Workflow(kube, timeout_s, progress)
        generation = flow.roll_back(request, to_revision)
        deployment = flow.wait_for_rollout(generation, rollout_timeout_s, poll_interval_s)
        if deployment is not None and flow.verify_pods(deployment):
            flow.check_health(target)
    details = {"from_revision": request["from_revision"], "to_revision": to_revision}
    details["sent"] = flow.sent
    failed = next((step for step in flow.steps if not step["ok"]), None)
    if failed is not None:
        summary = f"rollback of {kube.name} stopped at “{failed['name']}”: {failed['summary']}"
        return ActionResult(ok=False, summary=summary, details=details, steps=flow.steps)
    pods, health = flow.steps[2]["summary"], flow.steps[3]["summary"]
    health = health if health == NO_HEALTH_TARGET else "service healthy"
    summary = (
        f"{kube.name} rolled back to revision {to_revision}: rollout complete, {pods}, {health}"
    )
    return ActionResult(ok=True, summary=summary, details=details, steps=flow.steps)
