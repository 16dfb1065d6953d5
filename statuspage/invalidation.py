"""Cache invalidation on writes to what the public page shows.

Signals are used here and only here (STYLE.md): they catch every save of a service, group,
window or public log entry, whichever app or service function makes it. Queryset `update()` and
raw SQL send no signal: code writing public data that way calls
`statuspage.cache.invalidate_now_and_on_commit()` itself (the cache's short timeout bounds what
a forgotten call can cost).
"""

from __future__ import annotations

from django.db.models.signals import m2m_changed, post_delete, post_save

from catalog.models import Service, ServiceGroup
from maintenance.models import MaintenanceWindow, WindowEvent
from ops_portal.timeline import Visibility

from .cache import invalidate_now_and_on_commit


def _changed(sender, **kwargs) -> None:
    invalidate_now_and_on_commit()


def _window_services_changed(sender, action: str, **kwargs) -> None:
    if action.startswith("post_"):
        invalidate_now_and_on_commit()


def _window_event_saved(sender, instance: WindowEvent, **kwargs) -> None:
    # Internal entries (checklist ticks, notes) change nothing public.
    if instance.visibility == Visibility.PUBLIC:
        invalidate_now_and_on_commit()


def connect() -> None:
    for model in (Service, ServiceGroup, MaintenanceWindow):
        post_save.connect(_changed, sender=model, dispatch_uid=f"statuspage-save-{model.__name__}")
        post_delete.connect(
            _changed, sender=model, dispatch_uid=f"statuspage-delete-{model.__name__}"
        )
    post_save.connect(
        _window_event_saved, sender=WindowEvent, dispatch_uid="statuspage-window-event"
    )
    m2m_changed.connect(
        _window_services_changed,
        sender=MaintenanceWindow.services.through,
        dispatch_uid="statuspage-window-services",
    )
