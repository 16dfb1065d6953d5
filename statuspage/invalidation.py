"""Cache invalidation on writes to what the public page shows.

Signals are used here and only here (STYLE.md): they catch every save of a service, group,
window, incident, public log entry or public incident update, whichever app or service function
makes it. Queryset `update()` and
raw SQL send no signal: code writing public data that way calls
`statuspage.cache.invalidate_now_and_on_commit()` itself (the cache's short timeout bounds what
a forgotten call can cost).
"""

from __future__ import annotations

from django.db.models.signals import m2m_changed, post_delete, post_save

from catalog.models import Service, ServiceGroup
from incidents.models import Incident, TimelineEvent
from maintenance.models import MaintenanceWindow, WindowEvent
from ops_portal.timeline import Visibility
from postmortems.models import PostmortemRevision

from .cache import invalidate_now_and_on_commit
from .models import PageConfig


def _changed(sender, **kwargs) -> None:
    invalidate_now_and_on_commit()


def _services_changed(sender, action: str, **kwargs) -> None:
    if action.startswith("post_"):
        invalidate_now_and_on_commit()


def _window_event_saved(sender, instance: WindowEvent, **kwargs) -> None:
    # Internal entries (checklist ticks, notes) change nothing public.
    if instance.visibility == Visibility.PUBLIC:
        invalidate_now_and_on_commit()


def _timeline_event_saved(sender, instance: TimelineEvent, **kwargs) -> None:
    # Notes, alerts, probe results and other internal events change nothing public; a public
    # update adds an incident (its first) or an update, and may resolve it.
    if instance.visibility == Visibility.PUBLIC:
        invalidate_now_and_on_commit()


def _config_saved(sender, instance: PageConfig, created: bool, **kwargs) -> None:
    # The row is created on first read with the defaults the page already shows: only an
    # admin's change is news (invalidating on creation would throw away the first body built).
    if not created:
        invalidate_now_and_on_commit()


def connect() -> None:
    # Any incident save: its public title, severity (the public impact) or services may have
    # changed. Saves are human-paced (transitions, edits), so an internal-only change costing a
    # rebuild is cheap next to tracking which fields moved.
    for model in (Service, ServiceGroup, MaintenanceWindow, Incident):
        post_save.connect(_changed, sender=model, dispatch_uid=f"statuspage-save-{model.__name__}")
        post_delete.connect(
            _changed, sender=model, dispatch_uid=f"statuspage-delete-{model.__name__}"
        )
    post_save.connect(
        _window_event_saved, sender=WindowEvent, dispatch_uid="statuspage-window-event"
    )
    post_save.connect(_config_saved, sender=PageConfig, dispatch_uid="statuspage-page-config")
    # A publication may bring a customer-facing summary to the incident's public page.
    post_save.connect(
        _changed, sender=PostmortemRevision, dispatch_uid="statuspage-postmortem-revision"
    )
    m2m_changed.connect(
        _services_changed,
        sender=MaintenanceWindow.services.through,
        dispatch_uid="statuspage-window-services",
    )
    post_save.connect(
        _timeline_event_saved, sender=TimelineEvent, dispatch_uid="statuspage-timeline-event"
    )
    m2m_changed.connect(
        _services_changed,
        sender=Incident.services.through,
        dispatch_uid="statuspage-incident-services",
    )
