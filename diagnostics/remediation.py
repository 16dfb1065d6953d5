"""Remediation actions: preview, confirm, approve, execute, audit (ARCHITECTURE §3, §9).

    preview ──(commander confirms with the preview's token, before it expires)──▶ requested
       │                                          (needs approval)  │  (no approval needed)
       ▼ refused (the preview found it impossible)                  ▼
                                     approved ◀── a second commander approves ── requested
                                        │                                     └─▶ rejected
                                        ▼
                                     running ──▶ done | failed | unknown (worker lost)

- **Preview first, always**: computed against the live target; the response carries a one-time
  token (stored hashed) that confirming requires within ACTIONS_PREVIEW_TTL_S.
- **Requester ≠ approver** when a policy asks for a second commander (ActionPolicy, most
  specific row wins; default: the action's own `approval_on_high_severity` on P0/P1).
- **Never twice, never blind**: the execute task claims `approved → running` with one
  conditional UPDATE (a redelivered task finds it running or finished and drops itself);
  before acting it previews again and refuses when the live state the change was computed
  from (`Preview.basis`) moved. A run whose worker died is marked `unknown` by the sweeper —
  never retried: someone looks at the target first.
- **Audited**: every transition appends a `remediation` event to the incident timeline with
  who, what, when and the preview.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework import serializers

from accounts.permissions import Role, user_role
from catalog.models import Target
from incidents import events
from incidents.models import EventKind, Incident, Severity
from incidents.models import Status as IncidentStatus
from incidents.services import timeline_append

from . import redaction
from .actions import registry
from .actions.base import ActionRefused, ActionResult
from .models import ActionPolicy, ActionRequest, ActionState, ApprovalRule, ProbeRun
from .probes.base import ProbeUnreachable

logger = logging.getLogger(__name__)

HIGH_SEVERITIES = {Severity.P0, Severity.P1}
OPEN_STATES = (ActionState.PREVIEWED, ActionState.REQUESTED, ActionState.APPROVED)


class ActionError(Exception):
    """The request cannot be carried out as asked; `code` is machine-readable."""

    def __init__(self, message: str, *, code: str, errors: dict | None = None):
        super().__init__(message)
        self.code = code
        self.errors = errors or {}


@dataclass(frozen=True)
class PolicyDecision:
    allowed: bool
    needs_approval: bool
    because: str


# --- Policy -----------------------------------------------------------------------------------


def policy_for(*, action: str, target: Target, incident: Incident) -> PolicyDecision:
    rows = list(
        ActionPolicy.objects.filter(
            Q(target=target) | Q(target__isnull=True), Q(action=action) | Q(action="")
        )
    )

    def specificity(row: ActionPolicy) -> tuple[int, int]:
        return (row.target_id is not None, row.action != "")

    row = max(rows, key=specificity) if rows else None
    default_high = registry.get(action).approval_on_high_severity
    if row is not None and not row.allowed:
        return PolicyDecision(False, False, f"not allowed on {target} ({row})")
    rule = row.approval if row is not None else ApprovalRule.DEFAULT
    if rule == ApprovalRule.DEFAULT:
        rule = ApprovalRule.HIGH_SEVERITY if default_high else ApprovalRule.NEVER
    high = incident.severity in HIGH_SEVERITIES
    needs = rule == ApprovalRule.ALWAYS or (rule == ApprovalRule.HIGH_SEVERITY and high)
    because = {
        ApprovalRule.ALWAYS: "policy: always a second commander",
        ApprovalRule.HIGH_SEVERITY: f"{incident.severity}: a second commander approves",
        ApprovalRule.NEVER: "no second approval needed",
    }[rule]
    return PolicyDecision(True, needs, because if needs else "no second approval needed")


# --- Preview ----------------------------------------------------------------------------------


@dataclass
class IssuedPreview:
    request: ActionRequest
    token: str  # shown once; confirming needs it


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _validated(action_name: str, params: dict, by) -> tuple[object, dict]:
    if action_name not in registry:
        raise ActionError(f"Unknown action {action_name!r}.", code="unknown_action")
    action = registry.get(action_name)
    try:
        validated = action.validate_params(params)
    except serializers.ValidationError as exc:
        raise ActionError(
            f"Invalid parameters for {action_name}.", code="invalid_params", errors=exc.detail
        ) from exc
    if validated.get("force") and user_role(by) != Role.ADMIN:
        raise ActionError(
            "Only an admin may force this action.",
            code="invalid_params",
            errors={"force": ["Only an admin may force this action."]},
        )
    return action, validated


def action_preview(
    *,
    incident: Incident,
    action: str,
    target: Target,
    params: dict,
    by,
    from_run: ProbeRun | None = None,
) -> IssuedPreview:
    """Compute the preview against the live target and record it (or the refusal)."""
    if incident.status == IncidentStatus.CLOSED:
        raise ActionError(f"{incident.ref} is closed.", code="incident_closed")
    plugin, validated = _validated(action, params, by)
    if plugin.kind != target.kind:
        raise ActionError(
            f"{action} acts on {plugin.kind} targets; {target.name} is a {target.kind} target.",
            code="wrong_target_kind",
        )
    if not incident.services.filter(pk=target.service_id).exists():
        raise ActionError(
            f"{target} is not a target of {incident.ref}'s services.", code="target_not_affected"
        )
    decision = policy_for(action=action, target=target, incident=incident)
    timeout = plugin.default_timeout_s
    refusal, preview = "", {}
    if not decision.allowed:
        refusal = f"Refused by policy: {decision.because}."
    else:
        try:
            preview = redaction.clean(plugin.preview(target, validated, timeout).as_dict())
        except ActionRefused as exc:
            refusal = redaction.redact(str(exc))
        except ProbeUnreachable as exc:
            refusal = f"could not reach the target: {redaction.redact(str(exc))}"
    token = secrets.token_urlsafe(24)
    now = timezone.now()
    with transaction.atomic():
        request = ActionRequest.objects.create(
            key=uuid.uuid4(),
            incident=incident,
            action=action,
            target=target,
            target_label=f"{target.service.name} / {target.name}"[:220],
            params=validated,
            preview=preview,
            preview_token_digest="" if refusal else _digest(token),
            preview_expires_at=None
            if refusal
            else now + timedelta(seconds=settings.ACTIONS_PREVIEW_TTL_S),
            from_run=from_run,
            state=ActionState.REFUSED if refusal else ActionState.PREVIEWED,
            needs_approval=decision.needs_approval,
            previewed_by=by,
            error=refusal,
            timeout_s=timeout,
        )
        _audit(
            request,
            "refused" if refusal else "previewed",
            f"{'Refused' if refusal else 'Previewed'}: {plugin.title} on {request.target_label}"
            + (f" — {refusal}" if refusal else f" — {preview.get('summary', '')}"),
            by=by,
        )
    return IssuedPreview(request=request, token="" if refusal else token)


# --- Confirm, approve, reject -----------------------------------------------------------------


def action_confirm(*, request: ActionRequest, token: str, by, reason: str = "") -> ActionRequest:
    """The commander's "do it": needs the preview's token before it expires."""
    now = timezone.now()
    with transaction.atomic():
        locked = ActionRequest.objects.select_for_update().get(pk=request.pk)
        if locked.state != ActionState.PREVIEWED:
            raise ActionError(
                f"This request is {locked.get_state_display().lower()}: preview again to act.",
                code="not_previewed",
            )
        if not token or not secrets.compare_digest(_digest(token), locked.preview_token_digest):
            raise ActionError("The preview token does not match.", code="invalid_preview_token")
        if locked.preview_expires_at and locked.preview_expires_at < now:
            locked.state = ActionState.EXPIRED
            locked.save(update_fields=["state"])
            # Committed (the error is raised after the block): the expiry is part of the record.
            _audit(locked, "expired", "Preview expired before it was confirmed.", by=by)
            expired = True
        else:
            expired = False
            locked.state = ActionState.REQUESTED if locked.needs_approval else ActionState.APPROVED
            locked.requested_by = by
            locked.requested_at = now
            locked.reason = reason[:5000]
            locked.preview_token_digest = ""  # one use
            if not locked.needs_approval:
                locked.approved_at = now
            locked.save()
            plugin = registry.get(locked.action)
            _audit(
                locked,
                "requested",
                f"{by.get_username()} asked to run "
                f"{plugin.title} on {locked.target_label}: {locked.preview.get('summary', '')}"
                + (" — awaiting a second commander's approval." if locked.needs_approval else ""),
                by=by,
                include_preview=True,
            )
            if not locked.needs_approval:
                _enqueue_on_commit(locked)
    if expired:
        raise ActionError("The preview expired: preview again.", code="preview_expired")
    return locked


def action_approve(*, request: ActionRequest, by) -> ActionRequest:
    now = timezone.now()
    with transaction.atomic():
        locked = ActionRequest.objects.select_for_update().get(pk=request.pk)
        if locked.state != ActionState.REQUESTED:
            raise ActionError(
                f"Only a request awaiting approval can be approved (this one is "
                f"{locked.get_state_display().lower()}).",
                code="not_awaiting_approval",
            )
        if locked.requested_by_id == by.pk:
            raise ActionError(
                "The requester cannot approve their own request: a second commander must.",
                code="approver_is_requester",
            )
        locked.state = ActionState.APPROVED
        locked.approved_by = by
        locked.approved_at = now
        locked.save(update_fields=["state", "approved_by", "approved_at"])
        _audit(locked, "approved", f"Approved: {locked.preview.get('summary', '')}", by=by)
        _enqueue_on_commit(locked)
    return locked


def action_reject(*, request: ActionRequest, by, reason: str = "") -> ActionRequest:
    with transaction.atomic():
        locked = ActionRequest.objects.select_for_update().get(pk=request.pk)
        if locked.state not in (ActionState.PREVIEWED, ActionState.REQUESTED):
            raise ActionError("Only a pending request can be rejected.", code="not_pending")
        locked.state = ActionState.REJECTED
        locked.reason = (reason or locked.reason)[:5000]
        locked.finished_at = timezone.now()
        locked.save(update_fields=["state", "reason", "finished_at"])
        _audit(locked, "rejected", f"Rejected{': ' + reason if reason else ''}.", by=by)
    return locked


# --- Execute ----------------------------------------------------------------------------------


def _enqueue_on_commit(request: ActionRequest) -> None:
    request_id = request.pk
    transaction.on_commit(lambda: enqueue(request_id))


def enqueue(request_id: int) -> None:
    if settings.DIAGNOSTICS_RUN_INLINE:
        action_execute(request_id)
        return
    from .tasks import execute_action

    try:
        # The default worker's queue, named at send time (tests point it at their own worker).
        execute_action.apply_async((request_id,), queue=settings.CELERY_TASK_DEFAULT_QUEUE)
    except Exception as exc:  # broker down: the sweeper sends approved requests again
        logger.warning("could not enqueue action request %s: %r", request_id, exc)


def action_execute(request_id: int) -> ActionRequest | None:
    """The worker's part. Claims approved → running once; never runs a request twice."""
    now = timezone.now()
    claimed = ActionRequest.objects.filter(pk=request_id, state=ActionState.APPROVED).update(
        state=ActionState.RUNNING, started_at=now
    )
    if not claimed:
        return None  # running elsewhere, finished, or never approved: nothing to do
    request = ActionRequest.objects.select_related("target", "incident").get(pk=request_id)
    plugin = registry.get(request.action)
    _audit(request, "started", f"Running {plugin.title} on {request.target_label}.")
    if request.incident.status == IncidentStatus.CLOSED:
        return _finish(request, ok=False, summary="not run: the incident was closed meanwhile")
    target = request.target
    if target is None or not target.enabled:
        return _finish(request, ok=False, summary="the target was deleted or disabled")
    try:
        fresh = plugin.preview(target, request.params, request.timeout_s)
        if fresh.basis != request.preview.get("basis", {}):
            return _finish(
                request,
                ok=False,
                summary="refused: the target changed since the preview; preview again",
                details={"basis_then": request.preview.get("basis"), "basis_now": fresh.basis},
            )
        result = plugin.execute(
            target,
            request.params,
            request.preview,
            request.timeout_s,
            progress=lambda step: _audit(
                request,
                "step",
                f"{'OK' if step.get('ok') else 'FAILED'} {step.get('name')}: "
                f"{step.get('summary', '')}",
                data={"step": redaction.clean(step)},
            ),
        )
    except ActionRefused as exc:
        return _finish(request, ok=False, summary=f"refused: {exc}")
    except ProbeUnreachable as exc:
        return _finish(request, ok=False, summary=f"could not reach the target: {exc}")
    except Exception as exc:  # a bug in an action is still an outcome people must see
        logger.exception("action %s failed", request.action)
        return _finish(request, ok=False, summary=f"{type(exc).__name__}: {exc}")
    if result.ok and request.action == "kubernetes.rollback":
        _notify_stakeholders(request, result)
    return _finish(request, ok=result.ok, summary=result.summary, result=result)


def _notify_stakeholders(request: ActionRequest, result: ActionResult) -> None:
    """The emergency rollback workflow's last step: tell people (notifications deliver it)."""
    outbox = events.publish(
        "incident.remediation",
        incident_id=request.incident_id,
        payload={
            "ref": request.incident.ref,
            "action": request.action,
            "target": request.target_label,
            "summary": result.summary,
        },
    )
    step = {
        "name": "notify stakeholders",
        "ok": True,
        "summary": f"queued for the incident's channels (outbox event {outbox.pk})",
    }
    result.steps.append(step)
    _audit(request, "step", f"OK notify stakeholders: {step['summary']}", data={"step": step})


def _finish(
    request: ActionRequest,
    *,
    ok: bool,
    summary: str,
    result: ActionResult | None = None,
    details: dict | None = None,
) -> ActionRequest:
    summary = redaction.clip(redaction.redact(summary), 1000)
    with transaction.atomic():
        request.state = ActionState.DONE if ok else ActionState.FAILED
        request.finished_at = timezone.now()
        request.result = redaction.clean(
            result.as_dict() if result else {"ok": ok, "summary": summary, "details": details or {}}
        )
        request.error = "" if ok else summary
        request.save(update_fields=["state", "finished_at", "result", "error"])
        _audit(request, "done" if ok else "failed", f"{'Done' if ok else 'Failed'}: {summary}")
    return request


def sweep(*, now=None) -> dict:
    """Approved requests a lost message left behind are sent again; running ones whose worker
    died become `unknown` (never retried blindly: a human checks the target first)."""
    now = now or timezone.now()
    resend_before = now - timedelta(seconds=settings.DIAGNOSTICS_RESEND_AFTER_S)
    resend = list(
        ActionRequest.objects.filter(
            state=ActionState.APPROVED, approved_at__lt=resend_before
        ).values_list("pk", flat=True)[:100]
    )
    for request_id in resend:
        enqueue(request_id)
    lost = 0
    stale_before = now - timedelta(seconds=settings.ACTIONS_STALE_RUNNING_S)
    for request in ActionRequest.objects.filter(
        state=ActionState.RUNNING, started_at__lt=stale_before
    )[:100]:
        with transaction.atomic():
            updated = ActionRequest.objects.filter(pk=request.pk, state=ActionState.RUNNING).update(
                state=ActionState.UNKNOWN, finished_at=now
            )
            if updated:
                lost += 1
                request.state = ActionState.UNKNOWN
                _audit(
                    request,
                    "unknown",
                    "Outcome unknown: the worker stopped while it was running. It is not "
                    "retried; check the target's real state before acting again.",
                )
    return {"resent": len(resend), "unknown": lost}


def expire_previews(*, now=None) -> int:
    now = now or timezone.now()
    return ActionRequest.objects.filter(
        state=ActionState.PREVIEWED, preview_expires_at__lt=now
    ).update(state=ActionState.EXPIRED)


# --- Timeline ---------------------------------------------------------------------------------


def _audit(
    request: ActionRequest,
    phase: str,
    body: str,
    *,
    by=None,
    data: dict | None = None,
    include_preview: bool = False,
) -> None:
    payload = {
        "action_id": request.pk,
        "phase": phase,
        "action": request.action,
        "target": request.target_label,
        "state": request.state,
        **(data or {}),
    }
    if include_preview or phase in ("previewed", "approved"):
        payload["preview"] = {
            "summary": request.preview.get("summary", ""),
            "changes": request.preview.get("changes", [])[:50],
            "details": request.preview.get("details", {}),
        }
    timeline_append(
        incident_id=request.incident_id,
        kind=EventKind.REMEDIATION,
        body=redaction.clip(body, 2000),
        data=payload,
        author=by,
    )


# --- Suggestions ------------------------------------------------------------------------------


def suggested_actions(run: ProbeRun) -> list[dict]:
    """Actions with params filled from this run's findings ("terminate pid 4312").

    Only for runs with a target (the action acts on it) and a result to read.
    """
    if run.target_id is None or not run.result:
        return []
    found = []
    for action in registry.all():
        if run.probe not in action.suggested_by:
            continue
        try:
            suggestions = action.suggest(run.probe, run.result)
        except Exception:  # a suggestion bug must not break the page that shows the run
            logger.exception("suggestions of %s for run %s failed", action.name, run.pk)
            continue
        for suggestion in suggestions[:10]:
            found.append(
                {
                    "action": suggestion.action,
                    "title": action.title,
                    "label": suggestion.label,
                    "params": suggestion.params,
                    "target": run.target_id,
                    "run": run.pk,
                }
            )
    return found
