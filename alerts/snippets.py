"""Copy-paste configuration for each integration kind, shown on the integration page.

The token goes in a header (Alertmanager, Grafana, generic) or the event body (PagerDuty's
`routing_key`), never in the URL. Pages pass the real token only in the one response right
after creation or rotation; otherwise the placeholder below.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

TOKEN_PLACEHOLDER = "<TOKEN>"


@dataclass(frozen=True)
class Snippet:
    title: str
    language: str
    text: str


def _alertmanager(url: str, token: str) -> Snippet:
    text = f"""# alertmanager.yml
route:
  receiver: ops-portal
receivers:
  - name: ops-portal
    webhook_configs:
      - url: {json.dumps(url)}
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {json.dumps(token)}
"""
    return Snippet("Alertmanager receiver", "yaml", text)


def _pagerduty(url: str, token: str) -> Snippet:
    event = {
        "routing_key": token,
        "event_action": "trigger",
        "dedup_key": "disk-full-db-1",
        "payload": {
            "summary": "Disk full on db-1",
            "source": "db-1.prod",
            "severity": "critical",
        },
    }
    text = (
        f"# PagerDuty Events API v2: point any Events v2 sender at {url}\n"
        f"curl -sS -X POST {url} \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        f"  -d '{json.dumps(event)}'\n"
    )
    return Snippet("PagerDuty Events v2 (curl)", "shell", text)


def _grafana(url: str, token: str) -> Snippet:
    text = f"""# provisioning/alerting/ops-portal.yaml (or: Contact point → Webhook, URL below,
# Optional settings → Authorization header scheme "Bearer", credentials = the token)
apiVersion: 1
contactPoints:
  - orgId: 1
    name: ops-portal
    receivers:
      - uid: ops-portal
        type: webhook
        settings:
          url: {json.dumps(url)}
          httpMethod: POST
          authorization_scheme: Bearer
          authorization_credentials: {json.dumps(token)}
"""
    return Snippet("Grafana contact point", "yaml", text)


def _generic(url: str, token: str) -> Snippet:
    alert = {
        "key": "checkout-5xx",
        "status": "firing",
        "title": "Checkout 5xx rate above 2%",
        "severity": "critical",
        "service": "checkout",
    }
    text = (
        f"curl -sS -X POST {url} \\\n"
        f"  -H 'Authorization: Bearer {token}' \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        f"  -d '{json.dumps(alert)}'\n"
        '# resolve it later with the same key and "status": "resolved"\n'
    )
    return Snippet("Generic JSON webhook (curl)", "shell", text)


BUILDERS = {
    "alertmanager": _alertmanager,
    "pagerduty": _pagerduty,
    "grafana": _grafana,
    "generic": _generic,
}


def config_snippet(kind: str, *, url: str, token: str | None) -> Snippet | None:
    builder = BUILDERS.get(kind)
    if builder is None:
        return None
    return builder(url, token or TOKEN_PLACEHOLDER)
