"""Our documented generic JSON format (docs/alert-integrations.md).

Either one alert object or {"alerts": [...]}. Each alert: `key` (dedup key, required), `status`
(firing | acknowledged | resolved, default firing), `title` (required when firing), optional
`id` (event id: a repeat with the same id is not stored again), `severity`, `service`,
`source`, `description`, `labels`, `links`, `timestamp`.
"""

from __future__ import annotations

from .base import (
    MAX_DEDUP_KEY,
    MAX_SUMMARY,
    InvalidPayload,
    NormalizedAlert,
    optional_str,
    parse_time,
    string_map,
)

KIND = "generic"
STATUSES = {"firing": "trigger", "acknowledged": "acknowledge", "resolved": "resolve"}
MAX_ALERTS = 1000


def parse(payload: object, *, body_digest: str) -> list[NormalizedAlert]:
    if isinstance(payload, dict) and "alerts" in payload:
        alerts = payload["alerts"]
        if not isinstance(alerts, list) or not alerts:
            raise InvalidPayload(["alerts: must be a non-empty list"])
        if len(alerts) > MAX_ALERTS:
            raise InvalidPayload([f"alerts: at most {MAX_ALERTS} alerts per request"])
    elif isinstance(payload, dict):
        alerts = [payload]
    else:
        raise InvalidPayload(["body: must be a JSON object"])
    errors: list[str] = []
    normalized = []
    for index, alert in enumerate(alerts):
        where = f"alerts[{index}]"
        if not isinstance(alert, dict):
            errors.append(f"{where}: must be an object")
            continue
        before = len(errors)
        key = alert.get("key")
        if not isinstance(key, str) or not key.strip():
            errors.append(f"{where}.key: required, a non-empty string")
        elif len(key) > MAX_DEDUP_KEY:
            errors.append(f"{where}.key: at most {MAX_DEDUP_KEY} characters")
        status = alert.get("status", "firing")
        if status not in STATUSES:
            errors.append(f"{where}.status: must be firing, acknowledged or resolved")
        title = optional_str(alert.get("title"), f"{where}.title", errors, max_length=MAX_SUMMARY)
        if status == "firing" and not title.strip():
            errors.append(f"{where}.title: required when firing")
        event_id = optional_str(alert.get("id"), f"{where}.id", errors, max_length=200)
        severity = optional_str(alert.get("severity"), f"{where}.severity", errors, max_length=40)
        service = optional_str(alert.get("service"), f"{where}.service", errors, max_length=100)
        source = optional_str(alert.get("source"), f"{where}.source", errors, max_length=255)
        description = optional_str(alert.get("description"), f"{where}.description", errors)
        labels = string_map(alert.get("labels"), f"{where}.labels", errors)
        timestamp = parse_time(alert.get("timestamp"), f"{where}.timestamp", errors)
        links = alert.get("links") or []
        if not isinstance(links, list) or not all(
            isinstance(link, dict) and isinstance(link.get("href"), str) for link in links
        ):
            errors.append(f"{where}.links: must be a list of {{href, text}} objects")
        if len(errors) > before:
            continue
        labels = dict(labels)
        if service:
            labels.setdefault("service", service)
        if severity:
            labels.setdefault("severity", severity)
        annotations = {"summary": title} if title else {}
        if description:
            annotations["description"] = description
        normalized.append(
            NormalizedAlert(
                dedup_key=key,
                action=STATUSES[status],
                summary=(title or key)[:MAX_SUMMARY],
                event_key=f"id:{event_id}" if event_id else None,
                source=source,
                severity=severity,
                labels=labels,
                annotations=annotations,
                starts_at=timestamp,
                links=[
                    {"href": link["href"], "text": str(link.get("text") or link["href"])}
                    for link in links[:50]
                ],
                payload={"kind": KIND},
            )
        )
    if errors:
        raise InvalidPayload(errors[:50])
    return normalized
