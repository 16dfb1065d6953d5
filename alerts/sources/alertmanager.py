"""Prometheus Alertmanager webhook, payload version 4 (shared/reference/alerting-formats.md).

One POST carries a notification group; each alert is its own event keyed by `fingerprint`.
A resend of an alert with the same fingerprint, startsAt and status is the same event.
"""

from __future__ import annotations

import hashlib

from .base import (
    MAX_DEDUP_KEY,
    InvalidPayload,
    NormalizedAlert,
    optional_str,
    parse_time,
    string_map,
    summary_of,
)

KIND = "alertmanager"
STATUSES = {"firing": "trigger", "resolved": "resolve"}
MAX_ALERTS = 1000
# Per-alert fields kept on the stored alert (the rest of the body lives on the raw event).
EXTRA_FIELDS = ("silenceURL", "dashboardURL", "panelURL", "values", "valueString")


def fingerprint_of(labels: dict) -> str:
    """Stand-in for a missing fingerprint: a stable hash of the label set, as Alertmanager's."""
    text = "\xff".join(f"{key}\xfe{labels[key]}" for key in sorted(labels))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def parse_alerts(payload: object, *, kind: str) -> list[NormalizedAlert]:
    """Parse an Alertmanager-shaped body (Grafana sends the same shape)."""
    if not isinstance(payload, dict):
        raise InvalidPayload(["body: must be a JSON object"])
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        raise InvalidPayload(["alerts: required, a list of alerts"])
    if len(alerts) > MAX_ALERTS:
        raise InvalidPayload([f"alerts: at most {MAX_ALERTS} alerts per request"])
    errors: list[str] = []
    group_key = payload.get("groupKey")
    if group_key is not None and not isinstance(group_key, str):
        errors.append("groupKey: must be a string")
    normalized = []
    for index, alert in enumerate(alerts):
        where = f"alerts[{index}]"
        if not isinstance(alert, dict):
            errors.append(f"{where}: must be an object")
            continue
        before = len(errors)
        status = alert.get("status")
        if status not in STATUSES:
            errors.append(f"{where}.status: must be 'firing' or 'resolved'")
        labels = string_map(alert.get("labels"), f"{where}.labels", errors, required=True)
        annotations = string_map(alert.get("annotations"), f"{where}.annotations", errors)
        starts_at = parse_time(alert.get("startsAt"), f"{where}.startsAt", errors, required=True)
        ends_at = parse_time(alert.get("endsAt"), f"{where}.endsAt", errors)
        generator_url = optional_str(alert.get("generatorURL"), f"{where}.generatorURL", errors)
        fingerprint = optional_str(
            alert.get("fingerprint"), f"{where}.fingerprint", errors, max_length=MAX_DEDUP_KEY
        )
        if len(errors) > before:
            continue
        if not labels:
            errors.append(f"{where}.labels: must not be empty")
            continue
        fingerprint = fingerprint or fingerprint_of(labels)
        links = [{"href": generator_url, "text": "Source"}] if generator_url else []
        for name in ("dashboardURL", "panelURL", "silenceURL"):
            if isinstance(alert.get(name), str) and alert[name]:
                links.append({"href": alert[name], "text": name.removesuffix("URL").title()})
        normalized.append(
            NormalizedAlert(
                dedup_key=fingerprint,
                action=STATUSES[status],
                summary=summary_of(labels, annotations),
                # Hashed: startsAt is free text of any length and the key has a fixed width.
                event_key=hashlib.sha256(
                    f"{fingerprint}|{alert['startsAt']}|{status}".encode()
                ).hexdigest(),
                source=labels.get("instance", "") or labels.get("job", ""),
                severity=labels.get("severity", ""),
                labels=labels,
                annotations=annotations,
                starts_at=starts_at,
                ends_at=ends_at,
                generator_url=generator_url,
                links=links,
                payload={
                    "kind": kind,
                    "groupKey": group_key or "",
                    "fingerprint": fingerprint,
                    **{name: alert[name] for name in EXTRA_FIELDS if name in alert},
                },
            )
        )
    if errors:
        raise InvalidPayload(errors[:50])
    return normalized


def parse(payload: object, *, body_digest: str) -> list[NormalizedAlert]:
    return parse_alerts(payload, kind=KIND)
