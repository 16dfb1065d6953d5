"""JSON Schemas of the Statuspage v2 bodies, written from ../shared/reference/statuspage-v2.md.

Closed objects (`additionalProperties: false`): a field we add or drop is a contract change an
existing consumer would notice, so it must fail here first. Timestamps are ISO 8601 with an
offset; ids are strings.
"""

from __future__ import annotations

import jsonschema

TIMESTAMP = {
    "type": "string",
    "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)$",
}
NULLABLE_TIMESTAMP = {"anyOf": [TIMESTAMP, {"type": "null"}]}
COMPONENT_STATUS = {
    "enum": [
        "operational",
        "degraded_performance",
        "partial_outage",
        "major_outage",
        "under_maintenance",
    ]
}


def _object(properties: dict, *, optional: tuple[str, ...] = ()) -> dict:
    return {
        "type": "object",
        "properties": properties,
        "required": [key for key in properties if key not in optional],
        "additionalProperties": False,
    }


PAGE = _object(
    {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "url": {"type": "string", "pattern": "^https?://"},
        "time_zone": {"type": "string"},
        "updated_at": NULLABLE_TIMESTAMP,
    }
)
STATUS = _object(
    {
        "indicator": {"enum": ["none", "minor", "major", "critical", "maintenance"]},
        "description": {
            "enum": [
                "All Systems Operational",
                "Partially Degraded Service",
                "Minor Service Outage",
                "Partial System Outage",
                "Major Service Outage",
                "Service Under Maintenance",
            ]
        },
    }
)
COMPONENT = _object(
    {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "status": COMPONENT_STATUS,
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
        "position": {"type": "integer", "minimum": 1},
        "description": {"type": ["string", "null"]},
        "showcase": {"type": "boolean"},
        "start_date": {"type": ["string", "null"], "pattern": r"^\d{4}-\d{2}-\d{2}$"},
        "group_id": {"type": ["string", "null"]},
        "page_id": {"type": "string"},
        "group": {"type": "boolean"},
        "only_show_if_degraded": {"type": "boolean"},
        "components": {"type": "array", "items": {"type": "string"}},
    },
    optional=("components",),
)
AFFECTED = _object(
    {
        "code": {"type": "string"},
        "name": {"type": "string"},
        "old_status": COMPONENT_STATUS,
        "new_status": COMPONENT_STATUS,
    }
)


def _update(statuses: list[str]) -> dict:
    return _object(
        {
            "id": {"type": "string"},
            "incident_id": {"type": "string"},
            "status": {"enum": statuses},
            "body": {"type": "string"},
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
            "display_at": TIMESTAMP,
            "affected_components": {"type": "array", "items": AFFECTED},
            "deliver_notifications": {"type": "boolean"},
        }
    )


INCIDENT_STATUSES = ["investigating", "identified", "monitoring", "resolved", "postmortem"]
MAINTENANCE_STATUSES = ["scheduled", "in_progress", "verifying", "completed"]
_INCIDENT_FIELDS = {
    "id": {"type": "string"},
    "name": {"type": "string"},
    "created_at": TIMESTAMP,
    "updated_at": TIMESTAMP,
    "monitoring_at": NULLABLE_TIMESTAMP,
    "resolved_at": NULLABLE_TIMESTAMP,
    "started_at": NULLABLE_TIMESTAMP,
    "shortlink": {"type": "string", "pattern": "^https?://"},
    "page_id": {"type": "string"},
    "components": {"type": "array", "items": COMPONENT},
}
INCIDENT = _object(
    {
        **_INCIDENT_FIELDS,
        "status": {"enum": INCIDENT_STATUSES},
        "impact": {"enum": ["none", "minor", "major", "critical"]},
        "incident_updates": {"type": "array", "items": _update(INCIDENT_STATUSES)},
    }
)
SCHEDULED_MAINTENANCE = _object(
    {
        **_INCIDENT_FIELDS,
        "status": {"enum": MAINTENANCE_STATUSES},
        "impact": {"enum": ["none", "minor", "major", "critical", "maintenance"]},
        "incident_updates": {"type": "array", "items": _update(MAINTENANCE_STATUSES)},
        "scheduled_for": TIMESTAMP,
        "scheduled_until": TIMESTAMP,
    }
)


def _list(item: dict, **only: list) -> dict:
    """An array of `item`, optionally restricted to some `status` values."""
    if only:
        item = {"allOf": [item, {"properties": {"status": {"enum": only["status"]}}}]}
    return {"type": "array", "items": item}


UNRESOLVED = ["investigating", "identified", "monitoring"]
SCHEMAS = {
    "/api/v2/summary.json": _object(
        {
            "page": PAGE,
            "status": STATUS,
            "components": _list(COMPONENT),
            "incidents": _list(INCIDENT, status=UNRESOLVED),
            "scheduled_maintenances": _list(
                SCHEDULED_MAINTENANCE, status=["scheduled", "in_progress", "verifying"]
            ),
        }
    ),
    "/api/v2/status.json": _object({"page": PAGE, "status": STATUS}),
    "/api/v2/components.json": _object({"page": PAGE, "components": _list(COMPONENT)}),
    "/api/v2/incidents.json": _object(
        {"page": PAGE, "incidents": {**_list(INCIDENT), "maxItems": 50}}
    ),
    "/api/v2/incidents/unresolved.json": _object(
        {"page": PAGE, "incidents": _list(INCIDENT, status=UNRESOLVED)}
    ),
    "/api/v2/scheduled-maintenances.json": _object(
        {"page": PAGE, "scheduled_maintenances": {**_list(SCHEDULED_MAINTENANCE), "maxItems": 50}}
    ),
    "/api/v2/scheduled-maintenances/upcoming.json": _object(
        {"page": PAGE, "scheduled_maintenances": _list(SCHEDULED_MAINTENANCE, status=["scheduled"])}
    ),
    "/api/v2/scheduled-maintenances/active.json": _object(
        {
            "page": PAGE,
            "scheduled_maintenances": _list(
                SCHEDULED_MAINTENANCE, status=["in_progress", "verifying"]
            ),
        }
    ),
}
ALL_V2_PATHS = list(SCHEMAS)


def validate(path: str, body: dict) -> None:
    """Raise jsonschema.ValidationError if `body` is not the reference shape of `path`."""
    schema = SCHEMAS[path]
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(body)
