"""The status surge's data: a page with a long history on an outage day, written in seconds.

Runs inside the portal's environment (it imports the portal's models): bench/status_surge.py
runs `manage.py shell -c "from bench.surge_data import main; main()"` on its fresh database,
tests call `build()` with a smaller `Shape`. Everything goes in with bulk_create in one
transaction; that sends no signals, so the page cache is invalidated explicitly at the end.

The default shape (the issue's): 50 public components, 30 of them in 5 groups, plus 5 internal
services; 1,000 resolved incidents over about two years, each with 2 or 3 public updates among
internal events; 3 active incidents with public updates, their components degraded or down;
5 maintenance windows (in progress, two scheduled, completed, internal); 90 days of uptime
rollups per public component.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max, OuterRef, Subquery
from django.utils import timezone

from catalog.models import STATUS_SEVERITY, ComponentStatus, Service, ServiceGroup
from incidents.models import (
    Counter,
    EventKind,
    Incident,
    Severity,
    SeverityPolicy,
    Status,
    TimelineEvent,
)
from maintenance.models import MaintenanceWindow, WindowEvent, WindowEventKind, WindowState
from ops_portal.timeline import Visibility
from statuspage.cache import invalidate_now_and_on_commit
from statuspage.models import UptimeDay
from statuspage.uptime.rollup import DOWNTIME_WEIGHTS, WINDOW_DAYS, local_day, page_zone

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# Past incidents are spread this far apart (1,000 of them cover about two years).
SPACING = timedelta(hours=17)

AREAS = [
    "API",
    "Web app",
    "Checkout",
    "Payments",
    "Search",
    "Orders",
    "Accounts",
    "Notifications",
    "Webhooks",
    "Reporting",
    "File uploads",
    "Mobile push",
    "Single sign-on",
    "Billing",
    "Inventory",
    "Shipping",
    "Recommendations",
    "Chat",
    "Status emails",
    "Data export",
    "Admin console",
    "CDN",
    "DNS",
    "Image resizing",
    "Audit log",
]
REGIONS = ["EU", "US"]
GROUPS = ["Core platform", "Commerce", "Messaging", "Data", "Edge"]
SEVERITIES = [Severity.P3, Severity.P2, Severity.P2, Severity.P1, Severity.P3, Severity.P0]
# What a past incident did to its components, by severity (for the uptime rollups).
STATUS_BY_SEVERITY = {
    Severity.P0: ComponentStatus.MAJOR_OUTAGE,
    Severity.P1: ComponentStatus.PARTIAL_OUTAGE,
    Severity.P2: ComponentStatus.DEGRADED_PERFORMANCE,
    Severity.P3: ComponentStatus.DEGRADED_PERFORMANCE,
}
# The outage in progress: (severity, status of its components, components, public updates).
ACTIVE = [
    (Severity.P1, ComponentStatus.MAJOR_OUTAGE, 2, ["investigating", "identified"]),
    (Severity.P2, ComponentStatus.PARTIAL_OUTAGE, 1, ["investigating", "identified"]),
    (Severity.P2, ComponentStatus.DEGRADED_PERFORMANCE, 1, ["investigating"]),
]
UPDATE_BODIES = {
    "investigating": "We are investigating reports of errors and slow responses for {name}. "
    "Some requests may fail; we will post an update within 30 minutes.",
    "identified": "The cause has been identified: a configuration change rolled out to {name} "
    "this morning. We are rolling it back region by region.",
    "monitoring": "A fix has been applied to {name} and error rates are back to normal. We are "
    "monitoring the results.",
    "resolved": "This incident has been resolved. {name} is operating normally. We apologise "
    "for the disruption and will publish a summary of what happened.",
}


@dataclass(frozen=True)
class Shape:
    components: int = 50  # public ones
    groups: int = 5
    grouped: int = 30  # public components in groups, spread over them
    internal: int = 5  # internal services: in the database, never on the page
    resolved: int = 1000
    windows: bool = True  # the five maintenance windows
    uptime: bool = True  # 90 days of rollups per public component

    def __post_init__(self):
        if not 0 < self.grouped <= self.components or self.groups < 1:
            raise ValueError("a shape needs components, at least one group and grouped ones")
        if self.components < sum(count for _, _, count, _ in ACTIVE) + 2:
            raise ValueError("too few components for the active incidents and the maintenance")


def _names(count: int) -> list[str]:
    names = [f"{area} ({region})" for region in REGIONS for area in AREAS]
    names += [f"Service {n}" for n in range(len(names), count)]
    return names[:count]


def _catalog(shape: Shape, created_at: datetime) -> tuple[list[Service], list[Service]]:
    groups = ServiceGroup.objects.bulk_create(
        ServiceGroup(
            name=GROUPS[n % len(GROUPS)] + (f" {n}" if n >= len(GROUPS) else ""),
            slug=f"surge-group-{n}",
            position=n,
        )
        for n in range(shape.groups)
    )
    public = [
        Service(
            name=name,
            slug=f"surge-{index}",
            description="Owned by the platform team; pager rota in the runbook.",
            group=groups[index % shape.groups] if index < shape.grouped else None,
            position=index,
        )
        for index, name in enumerate(_names(shape.components))
    ]
    internal = [
        Service(
            name=f"Internal worker {n}",
            slug=f"surge-internal-{n}",
            show_on_status_page=False,
            position=shape.components + n,
        )
        for n in range(shape.internal)
    ]
    created = Service.objects.bulk_create(public + internal)
    # auto_now_add stamps bulk_create's rows with today; the uptime bars need old components.
    Service.objects.filter(pk__in=[s.pk for s in created]).update(created_at=created_at)
    return created[: shape.components], created[shape.components :]


def _affected(services: list[Service], new_status: str, old_status: str) -> list[dict]:
    return [
        {
            "code": str(s.pk),
            "name": s.name,
            "old_status": old_status,
            "new_status": new_status,
        }
        for s in services
    ]


class _Timelines:
    """Collects incidents' events with contiguous seqs, then writes them in one bulk_create."""

    def __init__(self):
        self.events: list[TimelineEvent] = []
        self.seqs: dict[int, int] = defaultdict(int)

    def add(self, incident: Incident, kind, at, body, *, public=False, data=None):
        self.seqs[incident.pk] += 1
        self.events.append(
            TimelineEvent(
                incident=incident,
                kind=kind,
                seq=self.seqs[incident.pk],
                visibility=Visibility.PUBLIC if public else Visibility.INTERNAL,
                body=body,
                data=data or {},
                created_at=at,
            )
        )

    def public_update(self, incident, at, status: str, services: list[Service], affected):
        names = ", ".join(s.name for s in services) or "the service"
        self.add(
            incident,
            EventKind.PUBLIC_UPDATE,
            at,
            UPDATE_BODIES[status].format(name=names),
            public=True,
            data={"status": status, "affected_components": affected},
        )

    def save(self) -> None:
        TimelineEvent.objects.bulk_create(self.events, batch_size=2000)
        # Each incident's seq counter at its last event, in one UPDATE.
        last = (
            TimelineEvent.objects.filter(incident=OuterRef("pk"))
            .values("incident")
            .annotate(top=Max("seq"))
            .values("top")
        )
        Incident.objects.filter(pk__in=list(self.seqs)).update(last_seq=Subquery(last))

    @property
    def public_updates(self) -> int:
        return sum(1 for e in self.events if e.kind == EventKind.PUBLIC_UPDATE)


def _incidents(shape: Shape, public: list[Service], internal: list[Service], now: datetime):
    """The past incidents, oldest first, then the active ones; their events and services."""
    rng = random.Random(9)  # the same history every run
    policies = {p.level: p for p in SeverityPolicy.objects.all()}
    rows = []
    for index in range(shape.resolved):
        severity = SEVERITIES[index % len(SEVERITIES)]
        detected = now - SPACING * (shape.resolved - index) - rng.randint(0, 600) * MINUTE
        rows.append(
            Incident(
                number=index + 1,
                title=f"Internal: {rng.choice(AREAS)} alerts from prod-eu-1 (runbook 12)",
                public_title=f"Elevated error rates on {rng.choice(AREAS)}",
                severity=severity,
                severity_policy=policies[severity],
                status=Status.CLOSED if index < shape.resolved - 20 else Status.RESOLVED,
                impact_summary="Internal estimate: 3% of checkouts failed.",
                detected_at=detected,
                acknowledged_at=detected + 4 * MINUTE,
                resolved_at=detected + rng.randint(30, 240) * MINUTE,
            )
        )
    for offset, (severity, _status, _count, _updates) in enumerate(ACTIVE):
        detected = now - (50 - 10 * offset) * MINUTE
        rows.append(
            Incident(
                number=shape.resolved + offset + 1,
                title=f"Internal: {severity} page from the on-call bot",
                public_title=f"Service disruption {offset + 1}",
                severity=severity,
                severity_policy=policies[severity],
                status=Status.INVESTIGATING,
                detected_at=detected,
                acknowledged_at=detected + 3 * MINUTE,
            )
        )
    incidents = Incident.objects.bulk_create(rows, batch_size=1000)
    Counter.objects.update_or_create(name="incident", defaults={"value": len(incidents)})

    timelines = _Timelines()
    links: list[tuple[Incident, Service]] = []
    # (incident, its public components, their status, until when): for the uptime rollups.
    touched: list[tuple[Incident, list[Service], str, datetime]] = []
    for incident in incidents[: shape.resolved]:
        services = rng.sample(public, rng.choice([1, 1, 2]))
        if internal and rng.random() < 0.2:
            services.append(rng.choice(internal))  # internal services never reach the page
        shown = [s for s in services if s.show_on_status_page]
        status = STATUS_BY_SEVERITY[incident.severity]
        start, end = incident.detected_at, incident.resolved_at
        timelines.add(incident, EventKind.DECLARED, start, "Declared from an alert.")
        timelines.public_update(
            incident,
            start + 5 * MINUTE,
            "investigating",
            shown,
            _affected(shown, status, ComponentStatus.OPERATIONAL),
        )
        timelines.add(incident, EventKind.NOTE, start + 9 * MINUTE, "Rolled back deploy 4411.")
        if incident.number % 2:
            timelines.public_update(incident, start + (end - start) / 2, "monitoring", shown, [])
        timelines.public_update(
            incident, end, "resolved", shown, _affected(shown, ComponentStatus.OPERATIONAL, status)
        )
        links += [(incident, s) for s in services]
        touched.append((incident, shown, status, end))

    free = iter(public[::-1])  # the last components: never under maintenance (see _windows)
    for incident, (_sev, status, count, updates) in zip(
        incidents[shape.resolved :], ACTIVE, strict=True
    ):
        services = [next(free) for _ in range(count)]
        timelines.add(incident, EventKind.DECLARED, incident.detected_at, "Declared from an alert.")
        for n, update in enumerate(updates):
            affected = _affected(services, status, ComponentStatus.OPERATIONAL) if n == 0 else []
            at = incident.detected_at + (5 + 15 * n) * MINUTE
            timelines.public_update(incident, at, update, services, affected)
        timelines.add(incident, EventKind.NOTE, incident.detected_at + 8 * MINUTE, "Paged DBA.")
        Service.objects.filter(pk__in=[s.pk for s in services]).update(status=status)
        links += [(incident, s) for s in services]
        touched.append((incident, services, status, now))
    timelines.save()
    through = Incident.services.through
    through.objects.bulk_create(
        [through(incident_id=i.pk, service_id=s.pk) for i, s in links], batch_size=2000
    )
    return incidents, timelines, touched


def _windows(public: list[Service], now: datetime) -> tuple[int, int]:
    """In progress (first two components), two scheduled, one completed, one internal."""
    specs = [
        # title, state, start, hours, public, services
        ("Database failover drill", WindowState.IN_PROGRESS, now - 30 * MINUTE, 2, True, 2),
        ("Payment provider upgrade", WindowState.SCHEDULED, now + 2 * DAY, 3, True, 3),
        ("Search index rebuild", WindowState.SCHEDULED, now + 7 * DAY, 4, True, 1),
        ("Network maintenance", WindowState.COMPLETED, now - 3 * DAY, 2, True, 4),
        ("Internal: rotate replication keys", WindowState.SCHEDULED, now + DAY, 1, False, 2),
    ]
    windows, links, events = [], [], []
    for title, state, start, hours, shown, count in specs:
        window = MaintenanceWindow(
            title=title,
            description="We will keep the service available; short pauses are possible.",
            scheduled_start=start,
            scheduled_end=start + hours * HOUR,
            state=state,
            public=shown,
            rollback_plan="Internal: switch back to the old primary (runbook 7).",
            created_at=now - 10 * DAY,
        )
        if state in (WindowState.IN_PROGRESS, WindowState.COMPLETED):
            window.started_at = start
        if state == WindowState.COMPLETED:
            window.verifying_at = start + 90 * MINUTE
            window.completed_at = start + 110 * MINUTE
        windows.append((window, public[:count]))
    created = MaintenanceWindow.objects.bulk_create([window for window, _ in windows])
    for window, (_, services) in zip(created, windows, strict=True):
        links += [(window, s) for s in services]
        log = [(WindowEventKind.CREATED, window.created_at, False, "Created.", {})]
        steps = [("scheduled", window.created_at)]
        if window.started_at:
            steps.append(("in_progress", window.started_at))
        if window.completed_at:
            steps += [("verifying", window.verifying_at), ("completed", window.completed_at)]
        log += [
            (
                WindowEventKind.STATE_CHANGE,
                at,
                True,
                f"Maintenance {status.replace('_', ' ')}.",
                {"status": status},
            )
            for status, at in steps
        ]
        for seq, (kind, at, shown, body, data) in enumerate(log, start=1):
            events.append(
                WindowEvent(
                    window=window,
                    kind=kind,
                    seq=seq,
                    visibility=Visibility.PUBLIC
                    if shown and window.public
                    else Visibility.INTERNAL,
                    body=body,
                    data=data,
                    created_at=at,
                )
            )
        MaintenanceWindow.objects.filter(pk=window.pk).update(last_seq=len(log))
        if window.state == WindowState.IN_PROGRESS:
            # As the maintenance services do when a window starts.
            Service.objects.filter(pk__in=[s.pk for s in services]).update(
                status=ComponentStatus.UNDER_MAINTENANCE
            )
    WindowEvent.objects.bulk_create(events)
    through = MaintenanceWindow.services.through
    through.objects.bulk_create(
        [through(maintenancewindow_id=w.pk, service_id=s.pk) for w, s in links]
    )
    return len(created), len(events)


def _uptime(public: list[Service], touched, now: datetime) -> int:
    """90 days per public component: operational, except on the days past incidents touched."""
    zone = page_zone()
    today = local_day(now, zone)
    days = {}
    for service in public:
        for n in range(WINDOW_DAYS):
            day = today - timedelta(days=n)
            days[service.pk, day] = UptimeDay(service=service, day=day, computed_at=now)
    for incident, services, status, until in touched:
        status = ComponentStatus(status).value
        minutes = (until - incident.detected_at) / MINUTE
        for service in services:
            row = days.get((service.pk, local_day(incident.detected_at, zone)))
            if row is None:
                continue
            row.worst_status = max(
                row.worst_status, status, key=lambda value: STATUS_SEVERITY[ComponentStatus(value)]
            )
            row.minutes = {**row.minutes, status: row.minutes.get(status, 0) + minutes}
            row.downtime_minutes += minutes * DOWNTIME_WEIGHTS.get(status, 0)
            row.incidents = [
                *row.incidents,
                {"id": incident.ref, "name": incident.public_title},
            ]
    UptimeDay.objects.bulk_create(days.values(), batch_size=2000)
    return len(days)


def build(shape: Shape = Shape(), *, now: datetime | None = None) -> dict[str, int]:
    """Write the data into an empty database; return what was written."""
    now = now or timezone.now()
    with transaction.atomic():
        public, internal = _catalog(shape, created_at=now - 400 * DAY)
        incidents, timelines, touched = _incidents(shape, public, internal, now)
        windows, window_events = _windows(public, now) if shape.windows else (0, 0)
        uptime_days = _uptime(public, touched, now) if shape.uptime else 0
        invalidate_now_and_on_commit()
    return {
        "components": len(public),
        "groups": shape.groups,
        "grouped": shape.grouped,
        "internal_services": len(internal),
        "resolved_incidents": shape.resolved,
        "active_incidents": len(incidents) - shape.resolved,
        "timeline_events": len(timelines.events),
        "public_updates": timelines.public_updates,
        "maintenance_windows": windows,
        "window_events": window_events,
        "uptime_days": uptime_days,
    }


def main() -> None:
    """Build the default shape and print one JSON line: the shape and the counts."""
    counts = build()
    print(json.dumps({"shape": asdict(Shape()), "counts": counts}))
