"""The remediation action contract: what an action is, what its preview and result say.

An action changes a target (unlike a probe). It is a class with a registry name
(`kubernetes.rollout_restart`), the target kind it applies to, a DRF serializer for its
parameters, and two methods:

- `preview(target, params, timeout_s) -> Preview`: computed against the LIVE target, changes
  nothing. It shows exactly what `execute` will do: the patch body, the SQL, the key count and a
  sample, offsets before → after. `Preview.basis` is the part of the live state the change was
  computed from (current replicas, the revision rolled back to, the pid's query start, the
  offsets now): before executing, the service previews again and refuses when the basis moved
  ("the target changed since the preview"). A preview that finds the action impossible or
  unsafe raises `ActionRefused("why")` — e.g. a consumer group with active members.
- `execute(target, params, preview, timeout_s) -> ActionResult`: does the change described by
  `preview` (the stored dict of the approved preview). It must be idempotent where the target
  allows: a retried execution after a lost worker must not do the change twice (a restart
  stamps `restartedAt` with the request's fixed time, a scale sets N, a rollback patches the
  pinned revision's template, an offset reset sets the offsets computed in the preview).

Rules every action keeps: every client call has a timeout; secrets come from the environment
variables the target names (`secret_from_env`), never from params; messages never include
secrets; `ActionRefused` for "will not" (policy, state), `ProbeUnreachable` (reused from the
probe contract) for "could not reach".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from rest_framework import serializers

from ..probes.base import describe_params

Progress = Callable[[dict], None] | None


class ActionRefused(Exception):
    """The action will not run on this target in its current state; the message says why."""


@dataclass
class Change:
    """One line of a preview: what changes, from what, to what."""

    what: str  # e.g. "replicas of deployment checkout-web"
    before: Any = None
    after: Any = None


@dataclass
class Preview:
    summary: str  # one line: "Scale deployment shop/checkout-web from 3 to 6 replicas"
    changes: list[Change] = field(default_factory=list)
    # The exact request(s) that execute will send: {"method", "path", "content_type", "body"}
    # for Kubernetes; {"sql": ...} for PostgreSQL; {"pattern", "count", "sample"} for Redis …
    details: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    basis: dict = field(default_factory=dict)  # live state the change was computed from

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class ActionResult:
    ok: bool
    summary: str  # one line: "checkout-web restarted (restartedAt 2026-11-29T10:01:02Z)"
    details: dict = field(default_factory=dict)
    steps: list[dict] = field(default_factory=list)  # workflows: [{"name", "ok", "summary"}]

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Suggestion:
    """An action with params filled from a probe finding ("terminate pid 4312")."""

    action: str
    label: str
    params: dict


class Action:
    name: ClassVar[str]
    kind: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str] = ""
    params_class: ClassVar[type[serializers.Serializer] | None] = None
    default_timeout_s: ClassVar[float] = 30.0
    # Needs a second commander's approval on P0/P1 incidents unless an admin policy says
    # otherwise (the default: roll back and offset reset).
    approval_on_high_severity: ClassVar[bool] = False
    # Probes whose findings this action can act on (see `suggest`).
    suggested_by: ClassVar[tuple[str, ...]] = ()

    def describe_params(self) -> list[dict]:
        return describe_params(self.params_class)

    def validate_params(self, params: dict | None) -> dict:
        if self.params_class is None:
            if params:
                raise serializers.ValidationError({"params": ["This action takes no parameters."]})
            return {}
        serializer = self.params_class(data=params or {})
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def preview(self, target, params: dict, timeout_s: float) -> Preview:
        raise NotImplementedError

    def execute(
        self, target, params: dict, preview: dict, timeout_s: float, progress: Progress = None
    ) -> ActionResult:
        """Do it. Workflows call `progress({"name", "ok", "summary"})` after each step (the
        service appends it to the incident timeline at once) and also return all steps."""
        raise NotImplementedError

    def suggest(self, probe_name: str, result: dict) -> list[Suggestion]:
        """Actions with params filled from a stored probe result dict (tables/checks/raw)."""
        return []
