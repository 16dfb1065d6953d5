"""Realistic payloads of each alert source, shaped like the captures in shared/reference."""

from __future__ import annotations

import hashlib

ZERO = "0001-01-01T00:00:00Z"


def fingerprint(labels: dict) -> str:
    return hashlib.sha256(repr(sorted(labels.items())).encode()).hexdigest()[:16]


def am_alert(
    alertname: str = "HighErrorRate",
    *,
    status: str = "firing",
    service: str = "checkout",
    severity: str = "critical",
    starts_at: str = "2026-11-29T00:43:35.613397975Z",
    ends_at: str = ZERO,
    summary: str | None = None,
    **labels,
) -> dict:
    all_labels = {"alertname": alertname, "service": service, "severity": severity, **labels}
    return {
        "status": status,
        "labels": all_labels,
        "annotations": {"summary": summary or f"{service} {alertname}"},
        "startsAt": starts_at,
        "endsAt": ends_at,
        "generatorURL": "http://prom/graph",
        "fingerprint": fingerprint(all_labels),
    }


def am_payload(*alerts: dict, receiver: str = "portal") -> dict:
    alerts = list(alerts) or [am_alert()]
    status = "firing" if any(a.get("status") == "firing" for a in alerts) else "resolved"
    common = alerts[0].get("labels") if isinstance(alerts[0], dict) else None
    common = common if isinstance(common, dict) else {}
    return {
        "receiver": receiver,
        "status": status,
        "alerts": alerts,
        "groupLabels": {"alertname": common.get("alertname", "")},
        "commonLabels": common,
        "commonAnnotations": alerts[0].get("annotations", {}),
        "externalURL": "http://vm:19093",
        "version": "4",
        "groupKey": '{}:{alertname="' + common.get("alertname", "") + '"}',
        "truncatedAlerts": 0,
    }


def grafana_payload(*alerts: dict) -> dict:
    body = am_payload(*alerts)
    for alert in body["alerts"]:
        alert["dashboardURL"] = "http://grafana/d/abc"
        alert["panelURL"] = "http://grafana/d/abc?viewPanel=2"
        alert["silenceURL"] = "http://grafana/alerting/silence/new"
        alert["values"] = {"B": 7.5}
        alert["valueString"] = "[ var='B' value=7.5 ]"
    body.update(
        version="1",
        orgId=1,
        title="[FIRING:1] HighErrorRate",
        state="alerting",
        message="checkout is failing",
    )
    return body


def pd_event(
    routing_key: str,
    action: str = "trigger",
    *,
    dedup_key: str | None = None,
    summary: str = "Disk full on db-1",
    severity: str = "critical",
    source: str = "db-1.prod",
    **payload_extra,
) -> dict:
    event: dict = {"routing_key": routing_key, "event_action": action}
    if dedup_key is not None:
        event["dedup_key"] = dedup_key
    if action == "trigger":
        event["payload"] = {
            "summary": summary,
            "source": source,
            "severity": severity,
            "component": "postgres",
            "group": "prod-datapipe",
            "class": "disk",
            "custom_details": {"free_space": "1%"},
            **payload_extra,
        }
        event["links"] = [{"href": "http://runbooks/disk", "text": "Runbook"}]
        event["images"] = [{"src": "http://chart/png", "href": "http://chart", "alt": "chart"}]
        event["client"] = "Monitoring"
        event["client_url"] = "http://monitoring"
    return event


def generic_alert(key: str = "gen-1", **fields) -> dict:
    return {
        "key": key,
        "status": "firing",
        "title": f"Generic {key}",
        "severity": "error",
        **fields,
    }
