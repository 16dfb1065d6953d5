"""The one shape of a service's refusal: a message for people, a code for programs, details.

Apps subclass it and say which of their codes are conflicts with the current state (HTTP 409)
or forbidden (403); everything else is bad input (400). The API turns any of them into the
house error body through `ops_portal.api_errors.call_service`.
"""

from __future__ import annotations


class ServiceRefusal(Exception):
    CONFLICT_CODES: frozenset[str] = frozenset()
    FORBIDDEN_CODES: frozenset[str] = frozenset()

    def __init__(self, message: str, *, code: str = "invalid", extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.extra = extra or {}

    @property
    def http_status(self) -> int:
        if self.code in self.FORBIDDEN_CODES:
            return 403
        return 409 if self.code in self.CONFLICT_CODES else 400
