"""The one error type of maintenance services; `code` is the API's machine-readable error."""

from __future__ import annotations

from ops_portal.service_errors import ServiceRefusal


class MaintenanceError(ServiceRefusal):
    # Conflicts with the window's current state (HTTP 409); the rest are bad input (HTTP 400).
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
    FORBIDDEN_CODES = frozenset({"override_forbidden"})
