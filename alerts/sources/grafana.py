"""Grafana alerting's webhook contact point: Alertmanager's shape plus dashboard/panel links,
values, and a top-level title/message. Grouped exactly like Alertmanager (by fingerprint)."""

from __future__ import annotations

from .alertmanager import parse_alerts
from .base import NormalizedAlert

KIND = "grafana"


def parse(payload: object, *, body_digest: str) -> list[NormalizedAlert]:
    return parse_alerts(payload, kind=KIND)
