"""Atlassian Statuspage public API v2 bodies (../shared/reference/statuspage-v2.md).

Field names, enums and shapes are an outside contract: existing widgets and monitors read
them by changing only the base URL. Ids are strings, timestamps ISO 8601 with the page's
offset.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from .branding import branding
from .selectors import (
    IncidentUpdate,
    PageSnapshot,
    PublicComponent,
    PublicGroup,
    PublicIncident,
    PublicMaintenance,
    PublicUpdate,
)


def absolute_url(path: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}{path}"


def timestamp(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return timezone.localtime(moment).isoformat(timespec="milliseconds")


def page(snapshot: PageSnapshot) -> dict:
    return {
        "id": settings.STATUSPAGE_PAGE_ID,
        "name": branding().name,
        "url": absolute_url(reverse("statuspage:home")),
        "time_zone": settings.TIME_ZONE,
        "updated_at": timestamp(snapshot.updated_at),
    }


def component(item: PublicComponent | PublicGroup) -> dict:
    is_group = isinstance(item, PublicGroup)
    body = {
        "id": item.id,
        "name": item.name,
        "status": item.status,
        "created_at": timestamp(item.created_at),
        "updated_at": timestamp(item.updated_at),
        "position": item.position,
        # The catalog's service description is written for engineers, not the public.
        "description": None,
        "showcase": not is_group,
        "start_date": item.start_date.isoformat(),
        "group_id": None if is_group else item.group_id,
        "page_id": settings.STATUSPAGE_PAGE_ID,
        "group": is_group,
        "only_show_if_degraded": False,
    }
    if is_group:
        body["components"] = [child.id for child in item.components]
    return body


def _update(
    parent: PublicMaintenance | PublicIncident, update: PublicUpdate | IncidentUpdate
) -> dict:
    return {
        "id": update.id,
        "incident_id": parent.id,
        "status": update.status,
        "body": update.body,
        "created_at": timestamp(update.created_at),
        "updated_at": timestamp(update.created_at),  # log and timeline entries are immutable
        "display_at": timestamp(update.created_at),
        "affected_components": [
            {
                "code": affected.code,
                "name": affected.name,
                "old_status": affected.old_status,
                "new_status": affected.new_status,
            }
            for affected in update.affected_components
        ],
        "deliver_notifications": True,
    }


def scheduled_maintenance(maintenance: PublicMaintenance) -> dict:
    return {
        "id": maintenance.id,
        "name": maintenance.name,
        "status": maintenance.status,
        "impact": "maintenance",
        "created_at": timestamp(maintenance.created_at),
        "updated_at": timestamp(maintenance.updated_at),
        "monitoring_at": timestamp(maintenance.monitoring_at),
        "resolved_at": timestamp(maintenance.resolved_at),
        "started_at": timestamp(maintenance.started_at),
        "shortlink": absolute_url(reverse("statuspage:maintenance", args=[maintenance.pk])),
        "page_id": settings.STATUSPAGE_PAGE_ID,
        "scheduled_for": timestamp(maintenance.scheduled_for),
        "scheduled_until": timestamp(maintenance.scheduled_until),
        "incident_updates": [_update(maintenance, update) for update in maintenance.updates],
        "components": [component(item) for item in maintenance.components],
    }


def incident(item: PublicIncident) -> dict:
    return {
        "id": item.id,
        "name": item.name,
        "status": item.status,
        "impact": item.impact,
        "created_at": timestamp(item.created_at),
        "updated_at": timestamp(item.updated_at),
        "monitoring_at": timestamp(item.monitoring_at),
        "resolved_at": timestamp(item.resolved_at),
        "started_at": timestamp(item.started_at),
        "shortlink": absolute_url(reverse("statuspage:incident", args=[item.number])),
        "page_id": settings.STATUSPAGE_PAGE_ID,
        "incident_updates": [_update(item, update) for update in item.updates],
        "components": [component(c) for c in item.components],
    }


def status(snapshot: PageSnapshot) -> dict:
    return {"indicator": snapshot.status.indicator, "description": snapshot.status.description}


# --- Endpoint bodies --------------------------------------------------------------------------


def components_body(snapshot: PageSnapshot) -> dict:
    return {
        "page": page(snapshot),
        "components": [component(item) for item in snapshot.components.in_page_order()],
    }


def scheduled_maintenances_body(snapshot: PageSnapshot, *, which: str = "all") -> dict:
    """`all`: the 50 most recent, completed included; `upcoming`; `active`. Newest first."""
    chosen = {
        "all": lambda m: True,
        "upcoming": lambda m: m.is_upcoming,
        "active": lambda m: m.is_active,
    }[which]
    return {
        "page": page(snapshot),
        "scheduled_maintenances": [
            scheduled_maintenance(m) for m in snapshot.maintenances if chosen(m)
        ],
    }


def status_body(snapshot: PageSnapshot) -> dict:
    return {"page": page(snapshot), "status": status(snapshot)}


def incidents_body(snapshot: PageSnapshot, *, unresolved: bool = False) -> dict:
    """The 50 most recent public incidents, unresolved first; or only the unresolved ones."""
    chosen = snapshot.unresolved if unresolved else snapshot.incidents
    return {"page": page(snapshot), "incidents": [incident(item) for item in chosen]}


def summary_body(snapshot: PageSnapshot) -> dict:
    """Everything a widget needs in one read: unresolved incidents, upcoming and active
    maintenance (newest scheduled first, as in scheduled-maintenances.json)."""
    return {
        "page": page(snapshot),
        "status": status(snapshot),
        "components": [component(item) for item in snapshot.components.in_page_order()],
        "incidents": [incident(item) for item in snapshot.unresolved],
        "scheduled_maintenances": [
            scheduled_maintenance(m) for m in snapshot.maintenances if m.is_active or m.is_upcoming
        ],
    }
