"""What anonymous visitors may see, read in a fixed number of queries whatever the history size.

Every selector returns frozen dataclasses holding an explicit allow-list of fields, never model
instances: the templates and the Statuspage serializers cannot reach a field that is not copied
here. Never copied: owners, rollback plans, checklists, internal log entries, the catalog's
service descriptions, internal services, internal or cancelled windows.

One module per kind of public object: components, maintenance, incidents (public updates and
public titles only), the history feed's entries; the snapshot reads them together.
"""

from .components import (
    PublicComponent,
    PublicComponents,
    PublicGroup,
    group_component_id,
    public_components,
    service_component_id,
)
from .incidents import (
    INCIDENTS_LIMIT,
    IncidentUpdate,
    PublicIncident,
    incident_public_id,
    public_incident,
)
from .maintenance import (
    MAINTENANCE_LIMIT,
    AffectedComponent,
    PublicMaintenance,
    PublicUpdate,
    public_maintenance,
)
from .snapshot import PageSnapshot, page_snapshot

__all__ = [
    "INCIDENTS_LIMIT",
    "MAINTENANCE_LIMIT",
    "AffectedComponent",
    "IncidentUpdate",
    "PageSnapshot",
    "PublicComponent",
    "PublicComponents",
    "PublicGroup",
    "PublicIncident",
    "PublicMaintenance",
    "PublicUpdate",
    "group_component_id",
    "incident_public_id",
    "page_snapshot",
    "public_components",
    "public_incident",
    "public_maintenance",
    "service_component_id",
]
