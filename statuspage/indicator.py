"""The page's overall status: Statuspage's `status {indicator, description}`.

The rule (docs/statuspage.md, tested as a table) follows Statuspage's top-level status: it
looks at the leaf components (groups only summarise their children) and, from issue 9 on, at
the impact of unresolved public incidents; the worse of the two wins. One component down out
of many is a partial outage of the system, not a major one: "critical" needs every component
in major outage (or a critical incident).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from catalog.models import ComponentStatus


@dataclass(frozen=True)
class PageStatus:
    indicator: str  # none | maintenance | minor | major | critical
    description: str


ALL_OPERATIONAL = PageStatus("none", "All Systems Operational")
UNDER_MAINTENANCE = PageStatus("maintenance", "Service Under Maintenance")
PARTIALLY_DEGRADED = PageStatus("minor", "Partially Degraded Service")
MINOR_OUTAGE = PageStatus("minor", "Minor Service Outage")
PARTIAL_OUTAGE = PageStatus("major", "Partial System Outage")
MAJOR_OUTAGE = PageStatus("critical", "Major Service Outage")

# Worst last. Maintenance is planned, so it ranks below any unplanned degradation.
INDICATOR_RANK = {"none": 0, "maintenance": 1, "minor": 2, "major": 3, "critical": 4}

# An unresolved incident's impact (Statuspage: none | minor | major | critical) as a page status.
_IMPACT_STATUS = {"minor": MINOR_OUTAGE, "major": PARTIAL_OUTAGE, "critical": MAJOR_OUTAGE}


def _from_components(statuses: list[str], maintenance_active: bool) -> PageStatus:
    present = set(statuses)
    if present and present == {ComponentStatus.MAJOR_OUTAGE}:
        return MAJOR_OUTAGE
    if ComponentStatus.MAJOR_OUTAGE in present or present == {ComponentStatus.PARTIAL_OUTAGE}:
        return PARTIAL_OUTAGE
    if ComponentStatus.PARTIAL_OUTAGE in present:
        return MINOR_OUTAGE
    if ComponentStatus.DEGRADED_PERFORMANCE in present:
        return PARTIALLY_DEGRADED
    if ComponentStatus.UNDER_MAINTENANCE in present or maintenance_active:
        return UNDER_MAINTENANCE
    return ALL_OPERATIONAL


def page_status(
    *,
    component_statuses: Iterable[str],
    maintenance_active: bool = False,
    incident_impacts: Iterable[str] = (),
) -> PageStatus:
    """The overall status from the leaf components' statuses and unresolved incidents' impacts.

    `maintenance_active`: a public window is in progress, even if none of its components is
    public (the page still says maintenance is going on).
    """
    status = _from_components(list(component_statuses), maintenance_active)
    for impact in incident_impacts:
        candidate = _IMPACT_STATUS.get(impact)
        if candidate and INDICATOR_RANK[candidate.indicator] > INDICATOR_RANK[status.indicator]:
            status = candidate
    return status
