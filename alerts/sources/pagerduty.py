"""PagerDuty Events API v2 (`POST /v2/enqueue`): one event per request.

Events with the same dedup_key apply to the same open alert group; a trigger without a
dedup_key gets one derived from the body, so a retried delivery lands on the same group and
the client is told the same key each time.
"""

from __future__ import annotations

from .base import (
    MAX_DEDUP_KEY,
    MAX_SUMMARY,
    InvalidPayload,
    NormalizedAlert,
    optional_str,
    parse_time,
)

KIND = "pagerduty"
ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")


def generated_dedup_key(body_digest: str) -> str:
    return body_digest[:32]


def _links(value: object, where: str, errors: list[str], *, url_field: str) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        errors.append(f"{where}: must be a list of objects")
        return []
    links = []
    for index, item in enumerate(value[:50]):
        href = optional_str(item.get(url_field), f"{where}[{index}].{url_field}", errors)
        text = optional_str(item.get("text") or item.get("alt"), f"{where}[{index}].text", errors)
        if href:
            links.append({"href": href, "text": text or href})
    return links


def routing_key_of(payload: object) -> str | None:
    """The integration token carried in the body (None if absent or not a string)."""
    if isinstance(payload, dict) and isinstance(payload.get("routing_key"), str):
        return payload["routing_key"]
    return None


def parse(payload: object, *, body_digest: str) -> list[NormalizedAlert]:
    if not isinstance(payload, dict):
        raise InvalidPayload(["Event must be a JSON object"])
    errors: list[str] = []
    if not isinstance(payload.get("routing_key"), str) or not payload["routing_key"]:
        errors.append("'routing_key' is missing or blank")
    action = payload.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' must be one of trigger, acknowledge, resolve")
    dedup_key = payload.get("dedup_key")
    if dedup_key is not None and (not isinstance(dedup_key, str) or not dedup_key):
        errors.append("'dedup_key' must be a non-empty string")
        dedup_key = None
    elif isinstance(dedup_key, str) and len(dedup_key) > MAX_DEDUP_KEY:
        errors.append(f"'dedup_key' must be at most {MAX_DEDUP_KEY} characters")
    if action in ("acknowledge", "resolve") and dedup_key is None:
        errors.append(f"'dedup_key' is required for event_action {action}")

    body = payload.get("payload")
    summary = source = severity = ""
    timestamp = None
    details: dict = {}
    if action == "trigger" or body is not None:
        if not isinstance(body, dict):
            errors.append("'payload' is missing or not an object")
            body = {}
        summary = body.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            if action == "trigger":
                errors.append("'payload.summary' is missing or blank")
            summary = ""
        elif len(summary) > MAX_SUMMARY:
            errors.append(f"'payload.summary' must be at most {MAX_SUMMARY} characters")
        source = body.get("source")
        if not isinstance(source, str) or not source.strip():
            if action == "trigger":
                errors.append("'payload.source' is missing or blank")
            source = ""
        severity = body.get("severity")
        if severity not in SEVERITIES:
            if action == "trigger" or severity is not None:
                errors.append("'payload.severity' must be one of critical, error, warning, info")
            severity = ""
        timestamp = parse_time(body.get("timestamp"), "'payload.timestamp'", errors)
        for name in ("component", "group", "class"):
            optional_str(body.get(name), f"'payload.{name}'", errors, max_length=255)
        details = body.get("custom_details")
        if details is not None and not isinstance(details, dict | list | str | int | float):
            errors.append("'payload.custom_details' must be JSON")
    optional_str(payload.get("client"), "'client'", errors, max_length=255)
    client_url = optional_str(payload.get("client_url"), "'client_url'", errors)
    links = _links(payload.get("links"), "'links'", errors, url_field="href")
    images = _links(payload.get("images"), "'images'", errors, url_field="src")
    if errors:
        raise InvalidPayload(errors)

    body = body or {}
    labels = {
        name: body[name]
        for name in ("source", "severity", "component", "group", "class")
        if isinstance(body.get(name), str) and body[name]
    }
    if client_url:
        links = [{"href": client_url, "text": payload.get("client") or "Client"}, *links]
    return [
        NormalizedAlert(
            dedup_key=dedup_key or generated_dedup_key(body_digest),
            action=action,
            summary=summary[:MAX_SUMMARY],
            event_key=None,
            source=source,
            severity=severity,
            labels=labels,
            annotations={"summary": summary} if summary else {},
            starts_at=timestamp,
            links=links + images,
            payload={
                "kind": KIND,
                "custom_details": details if details is not None else {},
                "client": payload.get("client") or "",
            },
        )
    ]
