"""Alert sources: one module per integration kind, looked up by the kind's slug."""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from .base import InvalidPayload, NormalizedAlert, load_json

SOURCES = {
    "alertmanager": "alerts.sources.alertmanager",
    "pagerduty": "alerts.sources.pagerduty",
    "grafana": "alerts.sources.grafana",
    "generic": "alerts.sources.generic",
}


def source_for(kind: str) -> ModuleType:
    return import_module(SOURCES[kind])


def parse(kind: str, payload: object, *, body_digest: str) -> list[NormalizedAlert]:
    return source_for(kind).parse(payload, body_digest=body_digest)


__all__ = ["SOURCES", "InvalidPayload", "NormalizedAlert", "load_json", "parse", "source_for"]
