"""The page snapshot: everything the public page and the Statuspage JSON show, read together."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from ..indicator import PageStatus, page_status
from .components import PublicComponents, public_components
from .incidents import PublicIncident, public_incidents, recent_incident_rows
from .maintenance import PublicMaintenance, public_maintenances, windows_for_page
from .uptime import ComponentUptime, component_uptimes


@dataclass(frozen=True)
class PageSnapshot:
    components: PublicComponents
    maintenances: tuple[PublicMaintenance, ...]  # newest scheduled first, at most 50
    status: PageStatus
    updated_at: datetime | None
    # The 50 most recent public incidents, unresolved first, then newest first.
    incidents: tuple[PublicIncident, ...] = ()
    # The 90-day uptime bars by component id (leaf components only).
    uptime: dict[str, ComponentUptime] = field(default_factory=dict, compare=False)

    @property
    def unresolved(self) -> list[PublicIncident]:
        return [i for i in self.incidents if not i.is_resolved]

    @property
    def active(self) -> list[PublicMaintenance]:
        return sorted((m for m in self.maintenances if m.is_active), key=_by_start)

    @property
    def upcoming(self) -> list[PublicMaintenance]:
        return sorted((m for m in self.maintenances if m.is_upcoming), key=_by_start)


def _by_start(maintenance: PublicMaintenance) -> tuple[datetime, int]:
    return (maintenance.scheduled_for, maintenance.pk)


def page_snapshot() -> PageSnapshot:
    """Everything the public page and the Statuspage JSON show, in at most ten queries."""
    components = public_components()
    incidents = public_incidents(recent_incident_rows(), components)
    maintenances = sorted(
        public_maintenances(windows_for_page(), components),
        key=lambda m: (m.scheduled_for, m.pk),
        reverse=True,
    )
    status = page_status(
        component_statuses=[c.status for c in components.leaves],
        maintenance_active=any(m.is_active for m in maintenances),
        incident_impacts=[i.impact for i in incidents if not i.is_resolved],
    )
    stamps = [
        components.updated_at,
        *(m.updated_at for m in maintenances),
        *(i.updated_at for i in incidents),
    ]
    return PageSnapshot(
        components=components,
        maintenances=tuple(maintenances),
        status=status,
        updated_at=max((s for s in stamps if s is not None), default=None),
        incidents=tuple(incidents),
        uptime=component_uptimes(components, now=timezone.now()),
    )
