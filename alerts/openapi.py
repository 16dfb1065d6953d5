"""OpenAPI documentation of the ingestion endpoints.

They are plain Django views (no DRF: they sit on the alert-storm hot path), so
drf-spectacular cannot see them; this post-processing hook adds their path items by hand.
"""

from __future__ import annotations

ERROR = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "example": "invalid_payload"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["type", "detail"],
}
ACCEPTED = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": ["accepted"]},
        "alerts": {"type": "integer", "description": "Alerts in this delivery."},
    },
    "required": ["status", "alerts"],
}
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
ALERTMANAGER_ALERT = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": ["firing", "resolved"]},
        "labels": STRING_MAP,
        "annotations": STRING_MAP,
        "startsAt": {"type": "string", "format": "date-time"},
        "endsAt": {"type": "string", "description": "0001-01-01T00:00:00Z while firing"},
        "generatorURL": {"type": "string"},
        "fingerprint": {"type": "string", "maxLength": 255},
    },
    "required": ["status", "labels", "startsAt"],
}
ALERTMANAGER_BODY = {
    "type": "object",
    "description": "Alertmanager webhook payload, version 4. Unknown fields are ignored.",
    "properties": {
        "version": {"type": "string"},
        "groupKey": {"type": "string"},
        "truncatedAlerts": {"type": "integer"},
        "status": {"type": "string", "enum": ["firing", "resolved"]},
        "receiver": {"type": "string"},
        "groupLabels": STRING_MAP,
        "commonLabels": STRING_MAP,
        "commonAnnotations": STRING_MAP,
        "externalURL": {"type": "string"},
        "alerts": {"type": "array", "items": ALERTMANAGER_ALERT, "maxItems": 1000},
    },
    "required": ["alerts"],
}
GRAFANA_BODY = {
    **ALERTMANAGER_BODY,
    "description": "Grafana alerting webhook contact point (Alertmanager's shape, version 1, "
    "plus title/state/message and per-alert dashboardURL/panelURL/values).",
}
GENERIC_ALERT = {
    "type": "object",
    "properties": {
        "key": {"type": "string", "maxLength": 255, "description": "Dedup key."},
        "id": {"type": "string", "description": "Event id; a repeat is stored once."},
        "status": {"type": "string", "enum": ["firing", "acknowledged", "resolved"]},
        "title": {"type": "string", "maxLength": 1024},
        "severity": {"type": "string", "example": "critical"},
        "service": {"type": "string", "description": "Catalog service slug."},
        "source": {"type": "string"},
        "description": {"type": "string"},
        "labels": STRING_MAP,
        "links": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"href": {"type": "string"}, "text": {"type": "string"}},
                "required": ["href"],
            },
        },
        "timestamp": {"type": "string", "format": "date-time"},
    },
    "required": ["key"],
}
GENERIC_BODY = {
    "oneOf": [
        GENERIC_ALERT,
        {
            "type": "object",
            "properties": {"alerts": {"type": "array", "items": GENERIC_ALERT, "minItems": 1}},
            "required": ["alerts"],
        },
    ]
}
PAGERDUTY_BODY = {
    "type": "object",
    "description": "PagerDuty Events API v2 event.",
    "properties": {
        "routing_key": {"type": "string", "description": "The integration token."},
        "event_action": {"type": "string", "enum": ["trigger", "acknowledge", "resolve"]},
        "dedup_key": {"type": "string", "maxLength": 255},
        "payload": {
            "type": "object",
            "properties": {
                "summary": {"type": "string", "maxLength": 1024},
                "source": {"type": "string"},
                "severity": {"type": "string", "enum": ["critical", "error", "warning", "info"]},
                "timestamp": {"type": "string", "format": "date-time"},
                "component": {"type": "string"},
                "group": {"type": "string"},
                "class": {"type": "string"},
                "custom_details": {"type": "object"},
            },
            "required": ["summary", "source", "severity"],
        },
        "client": {"type": "string"},
        "client_url": {"type": "string"},
        "links": {"type": "array", "items": {"type": "object"}},
        "images": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["routing_key", "event_action"],
}
PAGERDUTY_OK = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": ["success"]},
        "message": {"type": "string", "example": "Event processed"},
        "dedup_key": {"type": "string"},
    },
    "required": ["status", "message", "dedup_key"],
}
PAGERDUTY_ERROR = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "example": "invalid event"},
        "message": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["status", "message"],
}
IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "maxLength": 255},
    "description": "A retry with the same key gets the first answer and is stored once; the "
    "same key with another body → 422.",
}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _operation(*, op_id, summary, body, ok, error, secured=True) -> dict:
    responses = {
        "202": _json(ok, "Accepted: recorded durably, grouped shortly after."),
        "400": _json(error, "Invalid JSON or payload; `errors` lists every problem."),
        "413": _json(error, "Body larger than the limit (512 KiB by default)."),
        "415": _json(error, "Content-Type is not application/json."),
        "422": _json(error, "Idempotency-Key reused with a different body."),
        "429": {
            **_json(error, "Rate limit of the integration reached; retry after Retry-After s."),
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        },
    }
    if secured:
        responses["401"] = _json(error, "Missing or unknown integration token.")
        responses["403"] = _json(error, "The integration is disabled.")
    return {
        "post": {
            "operationId": op_id,
            "summary": summary,
            "tags": ["alert ingestion"],
            "parameters": [IDEMPOTENCY],
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "responses": responses,
            "security": [{"integrationToken": []}] if secured else [],
        }
    }


def add_ingestion_paths(result, generator, request, public):
    """drf-spectacular POSTPROCESSING_HOOKS entry."""
    schemes = result.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes["integrationToken"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "The token of an alert integration (shown once when it is created).",
    }
    paths = result.setdefault("paths", {})
    paths["/api/integrations/alertmanager/"] = _operation(
        op_id="ingest_alertmanager",
        summary="Prometheus Alertmanager webhook (payload version 4)",
        body=ALERTMANAGER_BODY,
        ok=ACCEPTED,
        error=ERROR,
    )
    paths["/api/integrations/grafana/"] = _operation(
        op_id="ingest_grafana",
        summary="Grafana alerting webhook",
        body=GRAFANA_BODY,
        ok=ACCEPTED,
        error=ERROR,
    )
    paths["/api/integrations/generic/"] = _operation(
        op_id="ingest_generic",
        summary="Generic JSON alerts (docs/alert-integrations.md)",
        body=GENERIC_BODY,
        ok=ACCEPTED,
        error=ERROR,
    )
    paths["/v2/enqueue"] = _operation(
        op_id="ingest_pagerduty_enqueue",
        summary="PagerDuty Events API v2 compatible (routing_key = integration token)",
        body=PAGERDUTY_BODY,
        ok=PAGERDUTY_OK,
        error=PAGERDUTY_ERROR,
        secured=False,
    )
    return result
