"""Reads shared by the catalog pages and others."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Q

from .models import STATUS_SEVERITY, ComponentStatus, Service, ServiceGroup


@dataclass
class GroupSection:
    group: ServiceGroup | None
    services: list[Service] = field(default_factory=list)

    @property
    def worst_status(self) -> str:
        if not self.services:
            return ComponentStatus.OPERATIONAL
        return max(self.services, key=lambda s: s.status_severity).status


def services_by_group(*, status: str | None = None, query: str = "") -> list[GroupSection]:
    """Services for the overview page, grouped, in two queries whatever the catalog size."""
    services = Service.objects.for_listing().order_by(
        "group__position", "group__name", "position", "name"
    )
    if status:
        services = services.filter(status=status)
    if query:
        services = services.filter(Q(name__icontains=query) | Q(slug__icontains=query))
    sections: dict[int | None, GroupSection] = {}
    for service in services:
        key = service.group_id
        if key not in sections:
            sections[key] = GroupSection(group=service.group)
        sections[key].services.append(service)
    # Ungrouped services last.
    return sorted(
        sections.values(),
        key=lambda s: (
            s.group is None,
            s.group.position if s.group else 0,
            s.group.name if s.group else "",
        ),
    )


def status_counts() -> dict[str, int]:
    counts = Counter(Service.objects.values_list("status", flat=True))
    return {
        status: counts.get(status, 0)
        for status in sorted(STATUS_SEVERITY, key=STATUS_SEVERITY.get, reverse=True)
    }
