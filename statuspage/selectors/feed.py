"""The history feed's entries: the newest public incident updates and public maintenance log
entries, merged newest first (/history.atom and /history.rss).

Two bounded queries whatever the history size; each reads only public rows and, of their
owners, only the public name: incident updates need no incident row beyond it, and a
maintenance entry without a status of its own takes the last one announced before it, as in
the Statuspage JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F, OuterRef, Subquery, Window
from django.db.models.fields.json import KT
from django.db.models.functions import RowNumber
from django.urls import reverse

from maintenance.models import WindowEvent, WindowState
from ops_portal.timeline import Visibility

from .incidents import (
    INCIDENT_STATUSES,
    IncidentUpdate,
    incident_public_id,
    public_name_expression,
)
from .incidents import public_update_events as incident_update_events
from .maintenance import PUBLIC_WINDOW_STATES, PublicUpdate

FEED_LIMIT = 50


@dataclass(frozen=True)
class FeedEntry:
    name: str  # the incident's public title or the window's title
    kind: str  # "incident" | "maintenance"
    update: IncidentUpdate | PublicUpdate
    path: str  # the public page, anchored at the update

    @property
    def title(self) -> str:
        return f"{self.name} — {self.update.status_label}"


def _incident_entries(limit: int) -> list[FeedEntry]:
    rows = (
        incident_update_events()
        .annotate(
            # The update's position among its incident's public updates: its public id.
            ordinal=Window(RowNumber(), partition_by=[F("incident_id")], order_by=F("seq").asc()),
            name=public_name_expression("incident__"),
            status=KT("data__status"),
        )
        .order_by("-created_at", "-id")
        .values_list("incident__number", "ordinal", "name", "body", "created_at", "status")[:limit]
    )
    entries = []
    for number, ordinal, name, body, created_at, status in rows:
        public_id = incident_public_id(number)
        update = IncidentUpdate(
            id=f"{public_id}-{ordinal}",
            status=status if status in INCIDENT_STATUSES else INCIDENT_STATUSES[0],
            body=body,
            created_at=created_at,
        )
        path = reverse("statuspage:incident", args=[number])
        entries.append(FeedEntry(name, "incident", update, f"{path}#{update.id}"))
    return entries


def _maintenance_entries(limit: int) -> list[FeedEntry]:
    public = WindowEvent.objects.filter(visibility=Visibility.PUBLIC)
    announced = (
        public.filter(
            window=OuterRef("window_id"),
            seq__lte=OuterRef("seq"),
            data__status__in=list(PUBLIC_WINDOW_STATES),
        )
        .order_by("-seq")
        .values(announced=KT("data__status"))[:1]
    )
    rows = (
        public.filter(window__public=True, window__state__in=list(PUBLIC_WINDOW_STATES))
        .annotate(status=Subquery(announced))
        .order_by("-created_at", "-id")
        .values_list("window_id", "seq", "window__title", "body", "created_at", "status")[:limit]
    )
    entries = []
    for window_id, seq, title, body, created_at, status in rows:
        update = PublicUpdate(
            id=f"MW-{window_id}-{seq}",
            status=status or WindowState.SCHEDULED,
            body=body,
            created_at=created_at,
        )
        path = reverse("statuspage:maintenance", args=[window_id])
        entries.append(FeedEntry(title, "maintenance", update, f"{path}#{update.id}"))
    return entries


def feed_entries(limit: int = FEED_LIMIT) -> list[FeedEntry]:
    """The `limit` newest public updates of incidents and maintenance, newest first."""
    entries = _incident_entries(limit) + _maintenance_entries(limit)
    entries.sort(key=lambda e: (e.update.created_at, e.update.id), reverse=True)
    return entries[:limit]
