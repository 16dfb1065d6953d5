"""Builders for incidents on the status page: declared and updated through the incidents
services (the public update's `data` is exactly what public_update_post writes), at a given
`now`; and a bulk builder for query-count tests with hundreds of incidents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from incidents.models import (
    Counter,
    EventKind,
    Incident,
    SeverityPolicy,
    TimelineEvent,
    Visibility,
)
from incidents.services import incident_declare, incident_update, note_add, public_update_post

MINUTE = timedelta(minutes=1)
# A fixed past moment keeps orderings exact; pages print times relative to now, which is fine.
T0 = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)


def declare(
    *, title="Checkout failing", severity="P1", services=(), now=T0, public_title="", **fields
) -> Incident:
    incident = incident_declare(
        title=title, severity=severity, by=None, services=services, now=now, **fields
    )
    if public_title:  # set afterwards, as people do from the incident page
        incident = incident_update(incident=incident, by=None, public_title=public_title, now=now)
    return incident


def publish(incident, body, *, status="investigating", now=None, component_status=None):
    """Post a public update (what the incident page's "Post update" does)."""
    return public_update_post(
        incident=incident,
        status=status,
        body=body,
        by=None,
        component_status=component_status,
        now=now,
    )


def note(incident, body, *, now=None):
    return note_add(incident=incident, body=body, by=None, now=now)


def bulk_incidents(n: int, *, services=(), start=T0, updates=3) -> list[Incident]:
    """`n` incidents with `updates` public updates and an internal note each, written in a few
    bulk inserts (the services would take minutes for hundreds): the last one unresolved."""
    policies = {p.level: p for p in SeverityPolicy.objects.all()}
    top = Incident.objects.order_by("-number").values_list("number", flat=True).first() or 0
    severities = ["P0", "P1", "P2", "P3"]
    incidents = Incident.objects.bulk_create(
        [
            Incident(
                number=top + i + 1,
                title=f"Internal title {i}",
                public_title=f"Public incident {i}",
                severity=severities[i % 4],
                severity_policy=policies[severities[i % 4]],
                detected_at=start + i * MINUTE,
                last_seq=updates if i == n - 1 else updates + 1,
            )
            for i in range(n)
        ]
    )
    # Keep the service's number counter ahead of the numbers used here.
    Counter.objects.update_or_create(name="incident", defaults={"value": top + n})
    statuses = ["investigating", "identified", "monitoring", "resolved"]
    events = []
    for i, incident in enumerate(incidents):
        incident.services.set(services)
        last = updates if i < n - 1 else updates - 1
        for seq in range(1, last + 1):
            status = "resolved" if seq == updates else statuses[min(seq - 1, 2)]
            events.append(
                TimelineEvent(
                    incident=incident,
                    seq=seq,
                    kind=EventKind.PUBLIC_UPDATE,
                    visibility=Visibility.PUBLIC,
                    body=f"Update {seq} of incident {i}.",
                    data={"status": status, "affected_components": []},
                    created_at=start + i * MINUTE + seq * timedelta(seconds=5),
                )
            )
        events.append(
            TimelineEvent(
                incident=incident,
                seq=last + 1,
                kind=EventKind.NOTE,
                body="Internal note.",
                created_at=start + i * MINUTE + timedelta(seconds=50),
            )
        )
    TimelineEvent.objects.bulk_create(events)
    return incidents
