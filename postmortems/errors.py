"""The one error type of postmortem services; `code` is the API's machine-readable error."""

from __future__ import annotations


class PostmortemError(Exception):
    CONFLICT_CODES = frozenset(
        {"illegal_transition", "not_reviewed", "already_exists", "incident_open", "published"}
    )

    def __init__(self, message: str, *, code: str = "invalid", extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.extra = extra or {}

    @property
    def http_status(self) -> int:
        return 409 if self.code in self.CONFLICT_CODES else 400
