"""What subscribers may hear of an outbox event: a `PublicNotice` of public fields, or nothing.

Only two topics speak to subscribers: `incident.public_update` (a public timeline entry) and
`maintenance.notice` (24 h ahead, start, end, cancellation) of a *public* window. Everything in a
notice is copied from an allow-list: the incident's public title, the update's status and body,
public components' public names, the window's title and times. Never read: internal titles,
notes, summaries, internal components, the notice payload's owners and teams. Anything that is
not public, or no longer exists, gives None and is never sent.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from django.conf import settings
from django.urls import reverse
from django.utils.dateparse import parse_datetime

from incidents.models import OutboxEvent
from incidents.services import PUBLIC_UPDATE_STATUSES
from maintenance.models import MaintenanceNotice, MaintenanceWindow, NoticeKind

from ..branding import branding
from ..selectors import PublicComponent, PublicComponents, public_components
from ..selectors.incidents import incident_public_id, public_update_events
from ..selectors.maintenance import affected_components

INCIDENT_TOPIC = "incident.public_update"
MAINTENANCE_TOPIC = "maintenance.notice"  # maintenance.notices.NOTICE_TOPIC
TOPICS = (INCIDENT_TOPIC, MAINTENANCE_TOPIC)

# What a maintenance notice announces, as the window status subscribers read.
_NOTICE_STATUS = {
    NoticeKind.ADVANCE: "scheduled",
    NoticeKind.START: "in_progress",
    NoticeKind.END: "completed",
    NoticeKind.CANCELLED: "cancelled",
}
NOTICE_HEADLINES = {
    NoticeKind.ADVANCE: "Scheduled maintenance",
    NoticeKind.START: "Maintenance in progress",
    NoticeKind.END: "Maintenance completed",
    NoticeKind.CANCELLED: "Maintenance cancelled",
}


@dataclass(frozen=True)
class PublicNotice:
    event_key: str  # unique per outbox event: one delivery per subscriber and event
    subject: str
    payload: dict  # JSON of public fields only; the webhook body minus `meta`
    component_ids: frozenset[int]  # public services concerned; empty = the whole page
    occurred_at: datetime  # subscribers confirmed later do not receive it


def event_key(event: OutboxEvent) -> str:
    return f"{event.topic}:{event.pk}"


def public_notice(event: OutboxEvent) -> PublicNotice | None:
    if event.topic == INCIDENT_TOPIC:
        return _incident_update(event)
    if event.topic == MAINTENANCE_TOPIC:
        return _maintenance_notice(event)
    return None


def page_name() -> str:
    """The page's name as admins configured it (PageConfig), for subjects and pages."""
    return branding().name


def _page() -> dict:
    return {
        "id": settings.STATUSPAGE_PAGE_ID,
        "name": page_name(),
        "url": settings.PUBLIC_BASE_URL + reverse("statuspage:home"),
    }


def _components(service_ids, components: PublicComponents) -> list[PublicComponent]:
    """The public components among `service_ids`, in page order (internal ones drop out)."""
    wanted = {str(pk) for pk in service_ids}
    return [c for c in components.leaves if c.id in wanted]


def _listed(components: list[PublicComponent]) -> list[dict]:
    return [{"id": c.id, "name": c.name} for c in components]


def _incident_update(event: OutboxEvent) -> PublicNotice | None:
    seq = event.payload.get("event_seq")
    if event.incident_id is None or not isinstance(seq, int):
        return None
    entry = (
        public_update_events()
        .filter(incident_id=event.incident_id, seq=seq)
        .select_related("incident")
        .only(
            "id",
            "seq",
            "body",
            "data",
            "created_at",
            "incident__number",
            "incident__title",
            "incident__public_title",
        )
        .first()
    )
    if entry is None:
        return None
    status = entry.data.get("status")
    if status not in PUBLIC_UPDATE_STATUSES:
        return None
    incident = entry.incident
    # The update's id on the page and in the JSON: its position among the public updates.
    position = public_update_events().filter(incident_id=incident.pk, seq__lte=seq).count()
    public = public_components()
    raw_affected = entry.data.get("affected_components")
    affected = affected_components(raw_affected, public)
    concerned = _components(
        [*incident.services.values_list("pk", flat=True), *(a.code for a in affected)], public
    )
    incident_id = incident_public_id(incident.number)
    title = incident.display_public_title
    page = _page()
    payload = {
        "type": INCIDENT_TOPIC,
        "page": page,
        "incident": {
            "id": incident_id,
            "name": title,
            "status": status,
            "shortlink": settings.PUBLIC_BASE_URL
            + reverse("statuspage:incident", kwargs={"number": incident.number}),
            "components": _listed(concerned),
            "incident_update": {
                "id": f"{incident_id}-{position}",
                "incident_id": incident_id,
                "status": status,
                "body": entry.body,
                "created_at": entry.created_at.isoformat(),
                "affected_components": [asdict(a) for a in affected],
            },
        },
    }
    return PublicNotice(
        event_key=event_key(event),
        subject=f"[{page['name']}] {title}: {status.capitalize()}",
        payload=payload,
        component_ids=frozenset(int(c.id) for c in concerned),
        occurred_at=event.created_at,
    )


def _maintenance_notice(event: OutboxEvent) -> PublicNotice | None:
    data = event.payload
    kind = data.get("kind")
    if data.get("public") is not True or kind not in _NOTICE_STATUS:
        return None
    window = (
        MaintenanceWindow.objects.public()
        .filter(pk=data.get("window_id"))
        .only("id", "title", "public")
        .first()
    )
    # The notice row goes with its window; a deleted one (or one turned internal) says nothing.
    if window is None or not MaintenanceNotice.objects.filter(outbox_event_id=event.pk).exists():
        return None
    starts = parse_datetime(str(data.get("scheduled_start", "")))
    ends = parse_datetime(str(data.get("scheduled_end", "")))
    if starts is None or ends is None:
        return None
    services = data.get("services")
    if not isinstance(services, list):
        services = []
    concerned = _components(
        [s.get("id") for s in services if isinstance(s, dict)], public_components()
    )
    title = str(data.get("title") or window.title)
    page = _page()
    payload = {
        "type": MAINTENANCE_TOPIC,
        "page": page,
        "scheduled_maintenance": {
            "id": window.ref,
            "name": title,
            "notice": kind,
            "status": _NOTICE_STATUS[kind],
            "scheduled_for": starts.isoformat(),
            "scheduled_until": ends.isoformat(),
            # Cancelled windows have no public page; the status page is the next best place.
            "shortlink": page["url"]
            if kind == NoticeKind.CANCELLED
            else settings.PUBLIC_BASE_URL + reverse("statuspage:maintenance", args=[window.pk]),
            "components": _listed(concerned),
        },
    }
    return PublicNotice(
        event_key=event_key(event),
        subject=f"[{page['name']}] {NOTICE_HEADLINES[kind]}: {title}",
        payload=payload,
        component_ids=frozenset(int(c.id) for c in concerned),
        occurred_at=event.created_at,
    )
