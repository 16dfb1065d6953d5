"""The one error type of postmortem services; `code` is the API's machine-readable error."""

from __future__ import annotations

from ops_portal.service_errors import ServiceRefusal


class PostmortemError(ServiceRefusal):
    CONFLICT_CODES = frozenset(
        {"illegal_transition", "not_reviewed", "already_exists", "incident_open", "published"}
    )
