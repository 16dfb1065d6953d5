"""Stale components: left non-operational with no public update for too long.

A component in an outage or degraded state that no public update has mentioned for
`PageConfig.stale_after_minutes` (default 2 h) is either forgotten after a recovery or silently
failing its readers: admins are told once per episode (the unique StaleComponentFlag row on
(service, since)) through the outbox topic `statuspage.stale_component`. Under maintenance is not
stale: the window says what is going on.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.models import ComponentStatus, Service, ServiceStatusChange
from incidents import events
from incidents.models import EventKind, Incident, TimelineEvent, Visibility

from .models import PageConfig, StaleComponentFlag

STALE_TOPIC = "statuspage.stale_component"
WATCHED = (
    ComponentStatus.DEGRADED_PERFORMANCE,
    ComponentStatus.PARTIAL_OUTAGE,
    ComponentStatus.MAJOR_OUTAGE,
)


@dataclass(frozen=True)
class StaleComponent:
    service_id: int
    name: str
    status: str
    since: datetime
    last_public_update: datetime | None


def stale_components(*, now: datetime | None = None) -> list[StaleComponent]:
    """Public components non-operational for longer than the limit without a public update
    about them since they changed (a constant number of queries)."""
    now = now or timezone.now()
    limit = timedelta(minutes=PageConfig.current().stale_after_minutes)
    services = list(Service.objects.public().filter(status__in=WATCHED))
    if not services:
        return []
    since = {}
    for change in ServiceStatusChange.objects.filter(
        service__in=services, previous=ComponentStatus.OPERATIONAL
    ).order_by("service_id", "changed_at"):
        since[change.service_id] = change.changed_at  # the latest start of an episode wins
    oldest = min(since.values(), default=now)
    # A public update of an incident on the service counts, as does one naming the component.
    last_update: dict[int, datetime] = {}
    updates = list(
        TimelineEvent.objects.filter(
            kind=EventKind.PUBLIC_UPDATE, visibility=Visibility.PUBLIC, created_at__gte=oldest
        ).values_list("incident_id", "created_at", "data")
    )
    incident_services = defaultdict(set)
    for incident_id, service_id in Incident.services.through.objects.filter(
        incident_id__in={incident_id for incident_id, _at, _data in updates}
    ).values_list("incident_id", "service_id"):
        incident_services[incident_id].add(service_id)
    for incident_id, created_at, data in updates:
        named = {
            int(c["code"])
            for c in (data or {}).get("affected_components", [])
            if str(c.get("code", "")).isdigit()
        }
        for service_id in incident_services[incident_id] | named:
            if service_id not in last_update or created_at > last_update[service_id]:
                last_update[service_id] = created_at
    stale = []
    for service in services:
        started = since.get(service.pk, service.updated_at)
        mentioned = last_update.get(service.pk)
        quiet_since = max(started, mentioned) if mentioned and mentioned > started else started
        if now - quiet_since >= limit:
            stale.append(
                StaleComponent(
                    service.pk,
                    service.public_name,
                    service.status,
                    started,
                    mentioned if mentioned and mentioned > started else None,
                )
            )
    return stale


def stale_flags_send(*, now: datetime | None = None) -> int:
    """Beat: flag each stale component to admins once per episode."""
    now = now or timezone.now()
    flagged = 0
    for item in stale_components(now=now):
        try:
            with transaction.atomic():
                flag = StaleComponentFlag.objects.create(
                    service_id=item.service_id, status=item.status, since=item.since, flagged_at=now
                )
                outbox = events.publish(
                    STALE_TOPIC,
                    incident_id=None,
                    payload={
                        "service_id": item.service_id,
                        "name": item.name,
                        "status": item.status,
                        "since": item.since.isoformat(),
                        "last_public_update": (
                            item.last_public_update.isoformat() if item.last_public_update else None
                        ),
                    },
                )
                flag.outbox_event_id = outbox.pk
                flag.save(update_fields=["outbox_event_id"])
        except IntegrityError:
            continue
        flagged += 1
    return flagged
