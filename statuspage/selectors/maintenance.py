"""Public maintenance windows as Statuspage scheduled maintenances, with their public updates."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Case, F, IntegerField, Value, When
from django.db.models.fields.json import KT, KeyTransform

from catalog.models import ComponentStatus
from maintenance.models import ACTIVE_STATES, MaintenanceWindow, WindowEvent, WindowState
from ops_portal.timeline import Visibility

from .components import PublicComponent, PublicComponents, public_components, service_component_id

# Statuspage's scheduled-maintenances.json holds "the 50 most recent".
MAINTENANCE_LIMIT = 50

# The window states a public log entry may announce (cancelled windows are never shown).
PUBLIC_WINDOW_STATES = frozenset(
    {WindowState.SCHEDULED, WindowState.IN_PROGRESS, WindowState.VERIFYING, WindowState.COMPLETED}
)
_WINDOW_STATE_LABELS = dict(WindowState.choices)


@dataclass(frozen=True)
class AffectedComponent:
    code: str
    name: str
    old_status: str
    new_status: str

    @property
    def new_status_label(self) -> str:
        return ComponentStatus(self.new_status).label


@dataclass(frozen=True)
class PublicUpdate:
    id: str
    status: str
    body: str
    created_at: datetime
    affected_components: tuple[AffectedComponent, ...] = ()

    @property
    def status_label(self) -> str:
        return _WINDOW_STATE_LABELS[self.status]


@dataclass(frozen=True)
class PublicMaintenance:
    pk: int
    id: str
    name: str
    status: str
    description: str  # Markdown, written for the public (the window is public)
    created_at: datetime
    updated_at: datetime
    scheduled_for: datetime
    scheduled_until: datetime
    started_at: datetime | None
    monitoring_at: datetime | None
    resolved_at: datetime | None
    components: tuple[PublicComponent, ...]
    updates: tuple[PublicUpdate, ...]  # newest first, as Statuspage lists them

    @property
    def status_label(self) -> str:
        return _WINDOW_STATE_LABELS[self.status]

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATES

    @property
    def is_upcoming(self) -> bool:
        return self.status == WindowState.SCHEDULED

    @property
    def latest_update(self) -> PublicUpdate | None:
        return self.updates[0] if self.updates else None


_WINDOW_FIELDS = (
    "id",
    "title",
    "description",
    "state",
    "scheduled_start",
    "scheduled_end",
    "started_at",
    "verifying_at",
    "completed_at",
    "created_at",
    "updated_at",
)


def _public_windows():
    return MaintenanceWindow.objects.public().only(*_WINDOW_FIELDS)


def windows_for_page() -> list[MaintenanceWindow]:
    """The 50 most relevant public windows: in progress, then upcoming, then recently completed.

    Two bounded queries; in-progress windows come first so no number of upcoming or past ones
    can push them out of the list.
    """
    open_windows = list(
        _public_windows()
        .filter(state__in=[WindowState.SCHEDULED, *ACTIVE_STATES])
        .annotate(
            active_first=Case(
                When(state__in=ACTIVE_STATES, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("active_first", "scheduled_start", "id")[:MAINTENANCE_LIMIT]
    )
    completed = list(
        _public_windows()
        .filter(state=WindowState.COMPLETED)
        .order_by(F("completed_at").desc(nulls_last=True), "-scheduled_end", "-id")[
            : MAINTENANCE_LIMIT - len(open_windows)
        ]
    )
    return open_windows + completed


def completed_windows_between(start: datetime, end: datetime, *, limit: int) -> list:
    """Public windows completed in [start, end), most recent first (history pages)."""
    return list(
        _public_windows()
        .filter(state=WindowState.COMPLETED, completed_at__gte=start, completed_at__lt=end)
        .order_by("-completed_at", "-id")[:limit]
    )


def affected_components(raw, components: PublicComponents) -> tuple[AffectedComponent, ...]:
    """The allow-listed part of an update's `affected_components`: public components only.

    Shared by maintenance log entries and incidents' public updates (same shape).
    """
    if not isinstance(raw, list):
        return ()
    valid = set(ComponentStatus.values)
    affected = []
    for entry in raw:
        if not isinstance(entry, dict):
            continue
        component = components.by_id.get(str(entry.get("code")))
        old, new = entry.get("old_status"), entry.get("new_status")
        if component is None or old not in valid or new not in valid:
            continue
        # The name comes from the component, not the entry: the entry may hold an old name.
        affected.append(
            AffectedComponent(
                code=component.id, name=component.name, old_status=old, new_status=new
            )
        )
    return tuple(affected)


def _public_updates(
    window_ids: list[int], components: PublicComponents
) -> dict[int, tuple[PublicUpdate, ...]]:
    """Each window's public log entries as Statuspage updates, newest first, in one query.

    Only `status`, `affected_components` and the body are read from an entry; an entry without a
    valid status keeps the one announced before it (a public note in the middle of a window).
    """
    rows = (
        WindowEvent.objects.filter(window_id__in=window_ids, visibility=Visibility.PUBLIC)
        .order_by("window_id", "seq")
        .values_list(
            "window_id",
            "seq",
            "body",
            "created_at",
            KT("data__status"),
            KeyTransform("affected_components", "data"),
        )
    )
    updates: dict[int, list[PublicUpdate]] = defaultdict(list)
    last_status: dict[int, str] = {}
    for window_id, seq, body, created_at, status, affected in rows:
        if status not in PUBLIC_WINDOW_STATES:
            status = last_status.get(window_id, WindowState.SCHEDULED)
        last_status[window_id] = status
        updates[window_id].append(
            PublicUpdate(
                id=f"MW-{window_id}-{seq}",
                status=str(status),
                body=body,
                created_at=created_at,
                affected_components=affected_components(affected, components),
            )
        )
    return {window_id: tuple(reversed(items)) for window_id, items in updates.items()}


def _window_components(window_ids: list[int]) -> dict[int, list[int]]:
    through = MaintenanceWindow.services.through
    rows = through.objects.filter(maintenancewindow_id__in=window_ids).values_list(
        "maintenancewindow_id", "service_id"
    )
    services: dict[int, list[int]] = defaultdict(list)
    for window_id, service_id in rows:
        services[window_id].append(service_id)
    return services


def public_maintenances(
    windows: list[MaintenanceWindow], components: PublicComponents
) -> list[PublicMaintenance]:
    """The windows as public maintenances, in two more queries (their services, public log)."""
    if not windows:
        return []
    ids = [w.pk for w in windows]
    updates = _public_updates(ids, components)
    services = _window_components(ids)
    result = []
    for window in windows:
        window_updates = updates.get(window.pk, ())
        # Internal services drop out here: only public components are in `by_id`.
        affected = [components.by_id.get(service_component_id(pk)) for pk in services[window.pk]]
        affected_public = sorted(
            (c for c in affected if c is not None), key=lambda c: (c.name.lower(), c.id)
        )
        stamps = [window.updated_at, *(u.created_at for u in window_updates)]
        result.append(
            PublicMaintenance(
                pk=window.pk,
                id=window.ref,
                name=window.title,
                status=window.state,
                description=window.description,
                created_at=window.created_at,
                updated_at=max(stamps),
                scheduled_for=window.scheduled_start,
                scheduled_until=window.scheduled_end,
                started_at=window.started_at,
                monitoring_at=window.verifying_at,
                resolved_at=window.completed_at,
                components=tuple(affected_public),
                updates=window_updates,
            )
        )
    return result


def public_maintenance(pk: int) -> PublicMaintenance | None:
    """One public, not cancelled window for its own public page (any age); None otherwise."""
    window = _public_windows().filter(pk=pk, state__in=PUBLIC_WINDOW_STATES).first()
    if window is None:
        return None
    return public_maintenances([window], public_components())[0]
