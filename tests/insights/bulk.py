"""Many incidents at once (bulk_create) for the query-count tests: each with services, four
status changes on its timeline, a postmortem and an action item."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Max

from catalog.models import Service
from incidents.models import EventKind, Incident, SeverityPolicy, Status, TimelineEvent
from postmortems.models import ActionItem, Postmortem

MOVES = (
    (Status.TRIGGERED, Status.ACKNOWLEDGED),
    (Status.ACKNOWLEDGED, Status.INVESTIGATING),
    (Status.INVESTIGATING, Status.MITIGATING),
    (Status.MITIGATING, Status.RESOLVED),
)


def bulk_incidents(count: int, *, first_detected: datetime, services: list[Service]) -> None:
    policies = {policy.level: policy for policy in SeverityPolicy.objects.all()}
    levels = sorted(policies)
    first_number = (Incident.objects.aggregate(top=Max("number"))["top"] or 0) + 1
    incidents = []
    for n in range(count):
        severity = levels[n % len(levels)]
        detected = first_detected + timedelta(minutes=17 * n)
        incidents.append(
            Incident(
                number=first_number + n,
                title=f"Bulk incident {n}",
                severity=severity,
                severity_policy=policies[severity],
                status=Status.RESOLVED,
                customer_facing=n % 3 == 0,
                detected_at=detected,
                acknowledged_at=detected + timedelta(minutes=3 + n % 7),
                mitigated_at=detected + timedelta(minutes=30),
                resolved_at=detected + timedelta(minutes=60 + n % 50),
                last_seq=len(MOVES),
            )
        )
    incidents = Incident.objects.bulk_create(incidents)
    through = Incident.services.through
    through.objects.bulk_create(
        through(incident_id=incident.pk, service_id=services[i % len(services)].pk)
        for i, incident in enumerate(incidents)
    )
    TimelineEvent.objects.bulk_create(
        TimelineEvent(
            incident_id=incident.pk,
            seq=seq,
            kind=EventKind.STATUS_CHANGE,
            data={"from": before, "to": after},
            created_at=incident.detected_at + timedelta(minutes=10 * seq),
        )
        for incident in incidents
        for seq, (before, after) in enumerate(MOVES, start=1)
    )
    postmortems = Postmortem.objects.bulk_create(
        Postmortem(
            incident_id=incident.pk,
            due_at=incident.resolved_at + timedelta(hours=48),
            first_published_at=incident.resolved_at + timedelta(hours=24 + i % 48),
        )
        for i, incident in enumerate(incidents)
    )
    ActionItem.objects.bulk_create(
        ActionItem(postmortem_id=postmortem.pk, title=f"Fix {i}")
        for i, postmortem in enumerate(postmortems)
    )
