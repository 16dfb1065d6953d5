"""The page snapshot: everything the public page and the Statuspage JSON show, read together."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..indicator import PageStatus, page_status
from .components import PublicComponents, public_components
from .maintenance import PublicMaintenance, public_maintenances, windows_for_page


@dataclass(frozen=True)
class PageSnapshot:
    components: PublicComponents
    maintenances: tuple[PublicMaintenance, ...]  # newest scheduled first, at most 50
    status: PageStatus
    updated_at: datetime | None

    @property
    def active(self) -> list[PublicMaintenance]:
        return sorted((m for m in self.maintenances if m.is_active), key=_by_start)

    @property
    def upcoming(self) -> list[PublicMaintenance]:
        return sorted((m for m in self.maintenances if m.is_upcoming), key=_by_start)


def _by_start(maintenance: PublicMaintenance) -> tuple[datetime, int]:
    return (maintenance.scheduled_for, maintenance.pk)


def page_snapshot() -> PageSnapshot:
    """Everything the public page and the Statuspage JSON show, in at most six queries."""
    components = public_components()
    maintenances = sorted(
        public_maintenances(windows_for_page(), components),
        key=lambda m: (m.scheduled_for, m.pk),
        reverse=True,
    )
    status = page_status(
        component_statuses=[c.status for c in components.leaves],
        maintenance_active=any(m.is_active for m in maintenances),
    )
    stamps = [components.updated_at, *(m.updated_at for m in maintenances)]
    return PageSnapshot(
        components=components,
        maintenances=tuple(maintenances),
        status=status,
        updated_at=max((s for s in stamps if s is not None), default=None),
    )
