"""Postmortems worth exporting, built through the services: shared by the export tests and the
print page's browser test (which runs without tests/postmortems/conftest.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from incidents.models import EventKind
from incidents.services import incident_declare, incident_transition, timeline_append
from postmortems import services
from postmortems.models import Postmortem

T0 = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
RESOLVE_PATH = ("acknowledged", "investigating", "mitigating", "resolved")

# Real-looking Markdown for every section: lists, code, a table, a sub-heading and an author's
# own `## ` heading (which must stay inside its section).
SECTION_TEXT = {
    "summary": (
        "Checkout returned **503** for 38 minutes after a connection-pool leak.\n\n"
        "## Background\n\nThe pool was resized last week."
    ),
    "customer_impact": (
        "| Region | Failed orders |\n| --- | --- |\n| EU | 1,240 |\n| US | 310 |\n\n"
        "About 12% of EU shoppers saw an error page."
    ),
    "detection": "Alertmanager paged on `CheckoutHighErrorRate` 4 minutes after impact began.",
    "response": "1. Acknowledged the page.\n2. Rolled back `checkout` to v412.\n3. Watched errors drop.",
    "root_cause": (
        "A retry loop held connections open:\n\n```python\nwhile True:\n    conn = pool.get()\n```"
    ),
    "contributing_factors": "- No pool saturation alert.\n- The canary ran at 1% traffic only.",
    "five_whys": "1. Why 503? Pool exhausted.\n2. Why exhausted? Connections leaked.",
    "went_well": "Rollback took *2 minutes*; see [the runbook](https://runbooks.example.com/checkout).",
    "went_badly": "The status page was updated 15 minutes late.",
    "got_lucky": "It happened outside the evening peak.",
    "lessons": "> Saturation is a symptom worth paging on.\n\nAlert on pool usage above 80%.",
}


def resolved_incident(*, by, title="Checkout returns 503", services_=(), severity="P1"):
    """Declared at T0 and walked to resolved, one move every 10 minutes (no evidence gates:
    callers use the `without_evidence_gates` fixture)."""
    incident = incident_declare(
        title=title, severity=severity, by=by, commander=by, services=services_, now=T0
    )
    for n, to in enumerate(RESOLVE_PATH, start=1):
        incident = incident_transition(
            incident=incident, to=to, by=by, now=T0 + timedelta(minutes=10 * n)
        )
    incident.refresh_from_db()
    return incident


def public_update(incident, body: str, *, minutes: int):
    """A key event of the generated timeline."""
    return timeline_append(
        incident_id=incident.pk,
        kind=EventKind.PUBLIC_UPDATE,
        body=body,
        data={"status": "identified"},
        now=T0 + timedelta(minutes=minutes),
    )


def written_postmortem(incident, *, by, sections=None) -> Postmortem:
    postmortem = services.postmortem_create(incident=incident, by=by)
    return services.postmortem_update(
        postmortem=postmortem,
        by=by,
        affected_users="~12% of EU shoppers",
        impact_started_at=T0 - timedelta(minutes=4),
        **(SECTION_TEXT if sections is None else sections),
    )


def with_action_items(postmortem, *, by, owner=None, titles=("Alert on pool saturation",)):
    for n, title in enumerate(titles):
        services.action_item_create(
            postmortem=postmortem,
            title=title,
            by=by,
            owner=owner,
            due_date=date(2026, 3, 20) + timedelta(days=n),
            external_url=f"https://tickets.example.com/browse/OPS-{140 + n}",
        )
    return postmortem


def publish(postmortem, *, by, now=None) -> Postmortem:
    services.postmortem_submit(postmortem=postmortem, by=by)
    services.postmortem_review(postmortem=postmortem, by=by)
    return services.postmortem_publish(
        postmortem=postmortem, by=by, now=now or T0 + timedelta(days=1)
    )
