"""Writes of the catalog that carry rules: target configs are validated per kind."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from .models import ComponentStatus, Service, ServiceStatusChange, Target
from .target_configs import validate_target_config

# Apps deriving data from the status history (the status page's uptime rollups) register here
# from their AppConfig.ready(): the catalog imports no domain app, so it cannot call them.
_status_listeners: list[Callable[..., None]] = []


def register_status_listener(listener: Callable[..., None]) -> None:
    """`listener(service=…, changed_at=…)` runs after the commit of every recorded change."""
    if listener not in _status_listeners:
        _status_listeners.append(listener)


@transaction.atomic
def target_create(
    *, service: Service, name: str, kind: str, config: dict, enabled: bool = True
) -> Target:
    target = Target(service=service, name=name, kind=kind, enabled=enabled)
    target.config = validate_target_config(kind, config)
    target.save()
    return target


@transaction.atomic
def target_update(*, target: Target, **changes) -> Target:
    for field in ("service", "name", "kind", "config", "enabled"):
        if field in changes:
            setattr(target, field, changes[field])
    target.config = validate_target_config(target.kind, target.config)
    target.save()
    return target


@transaction.atomic
def service_set_status(
    *, service: Service, status: ComponentStatus | str, now: datetime | None = None
) -> Service:
    """Set a component status and record the change with its time.

    Every write of a status goes through here (incident updates, maintenance, the API, the
    admin): the status page's uptime history is computed from these rows.
    """
    status = ComponentStatus(status)
    if service.status != status:
        change = ServiceStatusChange.objects.create(
            service=service,
            status=status,
            previous=service.status,
            changed_at=now or timezone.now(),
        )
        service.status = status
        service.save(update_fields=["status", "updated_at"])
        for listener in _status_listeners:
            # robust: a listener's failure is logged, never turned into the writer's error
            # (the write has committed by then).
            transaction.on_commit(_after_commit(listener, service, change.changed_at), robust=True)
    return service


def _after_commit(listener: Callable[..., None], service: Service, changed_at: datetime):
    # A function, not functools.partial: Django logs a robust callback's failure by its
    # __qualname__, which a partial lacks.
    def call() -> None:
        listener(service=service, changed_at=changed_at)

    return call
