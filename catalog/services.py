"""Writes of the catalog that carry rules: target configs are validated per kind."""

from __future__ import annotations

from django.db import transaction

from .models import ComponentStatus, Service, Target
from .target_configs import validate_target_config


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


def service_set_status(*, service: Service, status: ComponentStatus | str) -> Service:
    """Set a component status (incident updates and maintenance call this)."""
    status = ComponentStatus(status)
    if service.status != status:
        service.status = status
        service.save(update_fields=["status", "updated_at"])
    return service
