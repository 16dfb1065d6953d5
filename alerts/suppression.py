"""Is a service in maintenance? Alerts for it are recorded but open no incident.

The maintenance app registers its window check here from its AppConfig.ready(); until then a
service whose status-page status is "under maintenance" counts as in maintenance.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from catalog.models import ComponentStatus

_checks: list[Callable[..., bool]] = []


def register_suppression_check(check: Callable[..., bool]) -> None:
    """`check(service=…, at=…) -> bool`: True when alerts for the service must not page."""
    if check not in _checks:
        _checks.append(check)


def unregister_suppression_check(check: Callable[..., bool]) -> None:
    if check in _checks:
        _checks.remove(check)


def is_suppressed(*, service, at: datetime) -> bool:
    if service is None:
        return False
    if service.status == ComponentStatus.UNDER_MAINTENANCE:
        return True
    return any(check(service=service, at=at) for check in _checks)
