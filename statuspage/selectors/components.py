"""Public services as Statuspage components: groups, order, and maintenance's effect on status."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from catalog.models import STATUS_SEVERITY, ComponentStatus, Service
from maintenance.models import ACTIVE_STATES, MaintenanceWindow

_COMPONENT_STATUS_LABELS = dict(ComponentStatus.choices)


def group_component_id(group_pk: int) -> str:
    """Groups are components too in Statuspage; a prefix keeps their ids apart from services'."""
    return f"group-{group_pk}"


def service_component_id(service_pk: int) -> str:
    # The same code incidents' public updates record in `affected_components`.
    return str(service_pk)


@dataclass(frozen=True)
class PublicComponent:
    id: str
    name: str
    status: str
    position: int  # 1-based, within its group (or among the page's top-level components)
    group_id: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def status_label(self) -> str:
        return _COMPONENT_STATUS_LABELS[self.status]

    @property
    def start_date(self) -> date:
        return self.created_at.date()


@dataclass(frozen=True)
class PublicGroup:
    id: str
    name: str
    position: int
    created_at: datetime
    updated_at: datetime
    components: tuple[PublicComponent, ...]

    @property
    def status(self) -> str:
        """The worst status of the group's components (a group has none of its own)."""
        return max(
            (c.status for c in self.components),
            key=lambda status: STATUS_SEVERITY[ComponentStatus(status)],
            default=ComponentStatus.OPERATIONAL,
        )

    @property
    def status_label(self) -> str:
        return _COMPONENT_STATUS_LABELS[self.status]

    @property
    def start_date(self) -> date:
        return self.created_at.date()


@dataclass(frozen=True)
class PublicComponents:
    groups: tuple[PublicGroup, ...]
    ungrouped: tuple[PublicComponent, ...]
    by_id: dict[str, PublicComponent] = field(compare=False)

    def in_page_order(self) -> list[PublicGroup | PublicComponent]:
        """Each group followed by its components, then the ungrouped ones (components.json)."""
        items: list[PublicGroup | PublicComponent] = []
        for group in self.groups:
            items.append(group)
            items.extend(group.components)
        items.extend(self.ungrouped)
        return items

    @property
    def leaves(self) -> list[PublicComponent]:
        return [c for group in self.groups for c in group.components] + list(self.ungrouped)

    @property
    def updated_at(self) -> datetime | None:
        stamps = [item.updated_at for item in self.in_page_order()]
        return max(stamps, default=None)


def _services_in_maintenance() -> dict[int, datetime | None]:
    """Public services inside an in-progress public window, with the time it started."""
    through = MaintenanceWindow.services.through
    rows = through.objects.filter(
        maintenancewindow__public=True, maintenancewindow__state__in=ACTIVE_STATES
    ).values_list("service_id", "maintenancewindow__started_at")
    return dict(rows)


def public_components() -> PublicComponents:
    """The public services as Statuspage components, grouped, in two queries.

    A service inside an in-progress public window shows `under_maintenance` unless its own
    status is worse (an outage during maintenance is news). Internal windows change nothing
    here, so their existence never shows.
    """
    in_maintenance = _services_in_maintenance()
    services = (
        Service.objects.public()
        .select_related("group")
        .only(
            "id",
            "name",
            "component_name",
            "status",
            "position",
            "created_at",
            "updated_at",
            "group__id",
            "group__name",
            "group__position",
            "group__created_at",
            "group__updated_at",
        )
        .order_by("position", "name")
    )
    by_group: dict[int | None, list[Service]] = defaultdict(list)
    groups = {}
    for service in services:
        by_group[service.group_id].append(service)
        if service.group is not None:
            groups[service.group_id] = service.group

    def component(service: Service, position: int, group_id: str | None) -> PublicComponent:
        status, updated_at = service.status, service.updated_at
        if service.pk in in_maintenance:
            maintenance_status = ComponentStatus.UNDER_MAINTENANCE
            if STATUS_SEVERITY[maintenance_status] > STATUS_SEVERITY[ComponentStatus(status)]:
                status = maintenance_status.value
                started = in_maintenance[service.pk]
                updated_at = max(updated_at, started) if started else updated_at
        return PublicComponent(
            id=service_component_id(service.pk),
            name=service.public_name,
            status=status,
            position=position,
            group_id=group_id,
            created_at=service.created_at,
            updated_at=updated_at,
        )

    public_groups = []
    ordered_groups = sorted(groups.values(), key=lambda g: (g.position, g.name))
    for position, group in enumerate(ordered_groups, start=1):
        gid = group_component_id(group.pk)
        members = tuple(
            component(service, index, gid)
            for index, service in enumerate(by_group[group.pk], start=1)
        )
        public_groups.append(
            PublicGroup(
                id=gid,
                name=group.name,
                position=position,
                created_at=group.created_at,
                updated_at=max([group.updated_at, *(c.updated_at for c in members)]),
                components=members,
            )
        )
    ungrouped = tuple(
        component(service, index, None)
        for index, service in enumerate(by_group[None], start=len(public_groups) + 1)
    )
    leaves = [c for g in public_groups for c in g.components] + list(ungrouped)
    return PublicComponents(
        groups=tuple(public_groups), ungrouped=ungrouped, by_id={c.id: c for c in leaves}
    )
