"""The probe contract: what a probe is, what it returns, and the helpers every probe shares.

A probe is a small read-only check of one diagnostic target (`catalog.Target`). It is a class
with a registry name (`"postgres.connections"`), the target kind it applies to, a DRF serializer
describing its parameters (validated before a run, shown in the probe catalogue and the OpenAPI
schema) and `run(target, params, timeout_s) -> ProbeResult`.

Rules every probe keeps:
- **Read-only.** No writes, no admin commands (remediations are a separate, audited path).
- **Bounded.** Every client call gets a timeout derived from `timeout_s`; outputs are bounded in
  rows and characters (the runner truncates again as a backstop). The runner also cuts a probe
  that overruns its timeout, so a probe can never block a worker or another probe forever.
- **Unreachable is a result, not an exception.** Raise `ProbeUnreachable("...")` (or let a
  client error escape) and the runner records status `error` with the message, redacted.
- **No secrets in results.** Connection details come from environment variables named by the
  target's config (`secret_from_env`); the runner redacts DSN passwords and tokens anyway.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from rest_framework import serializers


class Status:
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    ERROR = "error"

    CHOICES = (OK, WARNING, CRITICAL, ERROR)
    # Worst first when sorting a set's summary. A critical finding is something known to be
    # broken; error means we could not look, which is worse than a warning but says less.
    RANK = {OK: 0, WARNING: 1, ERROR: 2, CRITICAL: 3}

    @classmethod
    def worst(cls, statuses) -> str:
        statuses = list(statuses)
        return max(statuses, key=cls.RANK.__getitem__) if statuses else cls.OK


@dataclass
class Check:
    """One measured value compared with its threshold (what 'thresholds used' shows)."""

    name: str  # stable key, e.g. "connections_used_percent"
    label: str  # human text, e.g. "Connections in use"
    value: float | int | str | None
    status: str = Status.OK
    threshold: str = ""  # e.g. "warning ≥ 80 %, critical ≥ 95 %"
    unit: str = ""


@dataclass
class Table:
    """Findings as rows with columns, rendered as a table.

    `key` names the columns that identify a row across runs (e.g. ("pod",) or
    ("topic", "partition")); the baseline comparison uses it to report new rows.
    """

    name: str  # stable key, e.g. "long_queries"
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    key: tuple[str, ...] = ()
    total_rows: int | None = None  # set when rows were cut to a bound; None = all rows shown

    def add(self, *values: Any) -> None:
        self.rows.append(list(values))


@dataclass
class ProbeResult:
    status: str
    summary: str  # one line
    checks: list[Check] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. "pg_stat_statements not installed"
    error: str = ""  # set with status=error: why we could not look
    raw: Any = None  # JSON-able raw output, shown collapsed; truncated by the runner

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_checks(cls, summary: str, checks: list[Check], **kwargs) -> ProbeResult:
        """Status = worst of the checks (ok when there are none)."""
        return cls(
            status=Status.worst(c.status for c in checks), summary=summary, checks=checks, **kwargs
        )


class ProbeUnreachable(Exception):
    """The target could not be reached or queried; becomes a status=error result."""


class ProbeConfigError(ProbeUnreachable):
    """The target or environment is not set up for this probe (e.g. a missing env var)."""


def level(value: float | None, *, warning: float, critical: float | None = None) -> str:
    """Status of a value against ascending thresholds (None → ok)."""
    if value is None:
        return Status.OK
    if critical is not None and value >= critical:
        return Status.CRITICAL
    if value >= warning:
        return Status.WARNING
    return Status.OK


def secret_from_env(config: dict, key: str) -> str:
    """The value of the environment variable whose NAME the target config holds under `key`."""
    name = config.get(key)
    if not name:
        raise ProbeConfigError(f"target config has no {key}")
    value = os.environ.get(name)
    if not value:
        raise ProbeConfigError(f"environment variable {name} is not set on the worker")
    return value


def describe_params(params_class) -> list[dict]:
    """A probe's or action's parameters as plain data (name, type, default, help, bounds)."""
    if params_class is None:
        return []
    described = []
    for name, param_field in params_class().fields.items():
        entry = {
            "name": name,
            "type": type(param_field).__name__.removesuffix("Field").lower() or "value",
            "required": param_field.required,
            "help_text": str(param_field.help_text or ""),
        }
        default = param_field.default
        if default is not serializers.empty and not callable(default):
            entry["default"] = default
        choices = getattr(param_field, "choices", None)
        if choices:
            entry["choices"] = list(choices)
        for bound in ("min_value", "max_value", "max_length"):
            if getattr(param_field, bound, None) is not None:
                entry[bound] = getattr(param_field, bound)
        described.append(entry)
    return described


class Probe:
    """Base class of every probe; subclasses set the class attributes and implement `run`."""

    name: ClassVar[str]  # registry key: "<kind>.<check>"
    kind: ClassVar[str]  # catalog.TargetKind value
    title: ClassVar[str]
    description: ClassVar[str] = ""
    params_class: ClassVar[type[serializers.Serializer] | None] = None
    default_timeout_s: ClassVar[float] = 10.0
    # Part of the target's health check ("run health check", default verification set).
    health: ClassVar[bool] = False

    def applies_to(self, target) -> bool:
        """Whether this probe can say anything about `target` (planning skips it otherwise).

        E.g. the endpoints probe needs a target that names a Kubernetes Service. A single probe
        started by hand on such a target still runs and reports what is missing.
        """
        return True

    def describe_params(self) -> list[dict]:
        return describe_params(self.params_class)

    def validate_params(self, params: dict | None) -> dict:
        """Validated params with defaults, or raise serializers.ValidationError."""
        if self.params_class is None:
            if params:
                raise serializers.ValidationError({"params": ["This probe takes no parameters."]})
            return {}
        serializer = self.params_class(data=params or {})
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def run(self, target, params: dict, timeout_s: float) -> ProbeResult:
        """Look at `target` (a catalog.Target: `.kind`, `.name`, `.config`) and report.

        `params` are already validated. Stay within `timeout_s` seconds.
        """
        raise NotImplementedError
