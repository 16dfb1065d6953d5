"""The one error type of maintenance services; `code` is the API's machine-readable error."""

from __future__ import annotations


class MaintenanceError(Exception):
    def __init__(self, message: str, *, code: str = "invalid", extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.extra = extra or {}

    # Codes that describe a conflict with the window's current state (HTTP 409); the rest are
    # bad input (HTTP 400).
    CONFLICT_CODES = frozenset(
        {
            "overlap",
            "illegal_transition",
            "checklist_open",
            "rollback_plan_required",
            "snapshot_pending",
            "regression_unacknowledged",
            "finished",
            # Checklist templates and recovery procedures (checklists.py, procedures.py).
            "already_attached",
            "incident_closed",
            "default_required",
            "in_use",
        }
    )

    @property
    def http_status(self) -> int:
        if self.code == "override_forbidden":
            return 403
        return 409 if self.code in self.CONFLICT_CODES else 400

    def as_body(self) -> dict:
        return {"error": self.code, "detail": self.message, **self.extra}
