"""The page's overall status as a table (docs/statuspage.md): components, maintenance, incidents."""

from __future__ import annotations

import pytest

from statuspage.indicator import page_status

OP, DEG, PART, MAJOR, MAINT = (
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
)

TABLE = [
    # components, maintenance window active, incident impacts → indicator, description
    ([], False, [], "none", "All Systems Operational"),
    ([OP, OP], False, [], "none", "All Systems Operational"),
    ([OP, OP], True, [], "maintenance", "Service Under Maintenance"),
    ([OP, MAINT], False, [], "maintenance", "Service Under Maintenance"),
    ([OP, DEG], False, [], "minor", "Partially Degraded Service"),
    ([MAINT, DEG], True, [], "minor", "Partially Degraded Service"),
    ([OP, PART], False, [], "minor", "Minor Service Outage"),
    ([PART, PART], False, [], "major", "Partial System Outage"),
    ([OP, MAJOR], False, [], "major", "Partial System Outage"),
    ([PART, MAJOR], False, [], "major", "Partial System Outage"),
    ([MAJOR], False, [], "critical", "Major Service Outage"),
    ([MAJOR, MAJOR], True, [], "critical", "Major Service Outage"),
    # Unresolved incidents (issue 9): the worse of the two wins.
    ([OP], False, ["none"], "none", "All Systems Operational"),
    ([OP], True, ["minor"], "minor", "Minor Service Outage"),
    ([DEG], False, ["major"], "major", "Partial System Outage"),
    ([OP], False, ["minor", "critical"], "critical", "Major Service Outage"),
    ([MAJOR], False, ["minor"], "critical", "Major Service Outage"),
]


@pytest.mark.parametrize(("components", "maintenance", "impacts", "indicator", "text"), TABLE)
def test_page_status_table(components, maintenance, impacts, indicator, text):
    status = page_status(
        component_statuses=components, maintenance_active=maintenance, incident_impacts=impacts
    )
    assert (status.indicator, status.description) == (indicator, text)
