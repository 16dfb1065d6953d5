"""Where each integration kind posts (ARCHITECTURE.md §4: these paths are contracts)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

URL_NAMES = {
    "alertmanager": "alerts-ingest-alertmanager",
    "pagerduty": "alerts-ingest-pagerduty",
    "grafana": "alerts-ingest-grafana",
    "generic": "alerts-ingest-generic",
}


def ingest_url(kind: str) -> str:
    """The absolute URL an alerting tool is configured with (the token goes in a header or,
    for PagerDuty, the body: never in the URL)."""
    return settings.PUBLIC_BASE_URL + reverse(URL_NAMES[kind])
