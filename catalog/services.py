"""Writes of the catalog that carry rules: target configs are validated per kind."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from .models import ComponentStatus, Service, ServiceStatusChange, Target
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


@transaction.atomic
def service_set_status(
    *, service: Service, status: ComponentStatus | str, now: datetime | None = None
) -> Service:
    """Set a component status (incident updates and maintenance call this) and record the
    change with its time: the status page's uptime history is computed from these rows."""
    status = ComponentStatus(status)
    if service.status != status:
        ServiceStatusChange.objects.create(
            service=service,
            status=status,
            previous=service.status,
            changed_at=now or timezone.now(),
        )
        service.status = status
        service.save(update_fields=["status", "updated_at"])
    return service
