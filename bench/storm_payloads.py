"""The storm's Alertmanager deliveries, built once before the clock starts.

Shaped like tests/alerts/payloads.py (webhook version 4): each POST is one notification group —
one alert rule on one service — carrying that rule's 10 instances. 20 rules x 10 instances make
the 200 distinct fingerprints; each rule notifies 10 times (waves), every wave with a new
`startsAt` (a flapping alert with `send_resolved: false` fires anew without resolving), so each of
the 200 x 10 alerts is a distinct event: 2,000 alerts to store, folded into 200 groups of 10.
POSTs go out wave by wave, so concurrent deliveries touch the same groups, as in a real storm.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

RULES = 20
INSTANCES = 10  # alerts per POST
WAVES = 10  # notifications per rule
BASE_TIME = "2026-11-29T00:{minute:02d}:{second:02d}.613397975Z"
ZERO = "0001-01-01T00:00:00Z"

# (alertname, summary template, description); services are catalog slugs from seed_demo.
ALERT_RULES = [
    ("HighErrorRate", "{service} 5xx ratio above 5%", "Error ratio over 5 minutes is {value}%."),
    ("HighLatencyP99", "{service} p99 latency above 1.5s", "p99 latency is {value}s."),
    ("PodCrashLooping", "{service} pod restarting", "Container restarted {value} times in 10m."),
    ("KafkaConsumerLag", "{service} consumer lag growing", "Lag is {value}k messages."),
    ("PostgresConnectionsHigh", "{service} DB pool near limit", "{value}% of connections used."),
]
SERVICES = ["checkout", "payments", "search", "orders"]


@dataclass(frozen=True)
class Delivery:
    body: bytes
    fingerprints: tuple[str, ...]


def fingerprint(labels: dict) -> str:
    """As tests/alerts/payloads.py: stable per label set, 16 hex digits like Alertmanager's."""
    return hashlib.sha256(repr(sorted(labels.items())).encode()).hexdigest()[:16]


def _alert(rule: int, instance: int, wave: int, severity: str) -> dict:
    alertname, summary, description = ALERT_RULES[rule % len(ALERT_RULES)]
    service = SERVICES[rule // len(ALERT_RULES) % len(SERVICES)]
    labels = {
        "alertname": alertname,
        "service": service,
        "severity": severity,
        "cluster": "prod-eu-1",
        "namespace": service,
        "job": f"{service}-metrics",
        "pod": f"{service}-7d9f8b6c4-{instance:05d}",
        "instance": f"10.42.{rule}.{instance + 10}:9102",
    }
    minute, second = divmod(wave * 61 + instance, 60)
    return {
        "status": "firing",
        "labels": labels,
        "annotations": {
            "summary": summary.format(service=service),
            "description": description.format(value=40 + wave + instance),
            "runbook_url": f"https://runbooks.example.com/{alertname}",
        },
        "startsAt": BASE_TIME.format(minute=minute % 60, second=second),
        "endsAt": ZERO,
        "generatorURL": f"http://prometheus.prod-eu-1:9090/graph?g0.expr=ALERTS%7Balertname%3D%22{alertname}%22%7D",
        "fingerprint": fingerprint(labels),
    }


def _payload(alerts: list[dict]) -> dict:
    common = {
        key: value
        for key, value in alerts[0]["labels"].items()
        if all(alert["labels"].get(key) == value for alert in alerts)
    }
    group_labels = {"alertname": common["alertname"], "service": common["service"]}
    return {
        "receiver": "ops-portal",
        "status": "firing",
        "alerts": alerts,
        "groupLabels": group_labels,
        "commonLabels": common,
        "commonAnnotations": {"runbook_url": alerts[0]["annotations"]["runbook_url"]},
        "externalURL": "http://alertmanager.prod-eu-1:9093",
        "version": "4",
        "groupKey": '{}/{severity=~"warning|critical"}:'
        + f'{{alertname="{group_labels["alertname"]}", service="{group_labels["service"]}"}}',
        "truncatedAlerts": 0,
    }


def deliveries(*, severity: str = "warning") -> list[Delivery]:
    """The 200 POST bodies, in sending order (wave by wave)."""
    out = []
    for wave in range(WAVES):
        for rule in range(RULES):
            alerts = [_alert(rule, instance, wave, severity) for instance in range(INSTANCES)]
            body = json.dumps(_payload(alerts), separators=(",", ":")).encode()
            out.append(Delivery(body, tuple(alert["fingerprint"] for alert in alerts)))
    return out


def warmup_deliveries(count: int, *, severity: str = "warning") -> list[Delivery]:
    """Distinct small deliveries for the warm-up integration (1 alert each)."""
    out = []
    for index in range(count):
        alert = _alert(index % RULES, 100 + index, 100, severity)
        alert["labels"]["warmup"] = str(index)
        alert["fingerprint"] = fingerprint(alert["labels"])
        body = json.dumps(_payload([alert]), separators=(",", ":")).encode()
        out.append(Delivery(body, (alert["fingerprint"],)))
    return out


EXPECTED_POSTS = WAVES * RULES
EXPECTED_ALERTS = EXPECTED_POSTS * INSTANCES
EXPECTED_GROUPS = RULES * INSTANCES
