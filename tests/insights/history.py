"""A fixed incident history with hand-computed insights, built through the real services.

The period is 17 Mar to 6 Apr 2025 in Europe/Berlin (three whole weeks); clocks go forward on
Sunday 30 Mar (01:00 UTC), so the period is 21 days minus one hour long:

    start = 2025-03-16 23:00 UTC (Mon 17 Mar 00:00 CET)
    end   = 2025-04-06 22:00 UTC (Mon  7 Apr 00:00 CEST)     → 30,180 minutes
    previous period = 24 Feb to 16 Mar 2025

`now` is 10 Apr 2025, after the period: open incidents' downtime stops at the period's end.

Incidents (minutes after detection for each move; UTC times):

    ref sev svc               detected           moves
    A   P1  payments          Sun 23 Mar 23:30   ack 4, inv 10, mit 40, res 120, closed 180
        (Berlin: Mon 24 Mar 00:30 CET → week of 24 Mar; by UTC date it would be 17 Mar)
    D   P1  search            Tue 18 Mar 10:00   ack 10, res 45
    I   P1  payments          Tue 25 Mar 09:00   ack 30, inv 40, mit 100 (still mitigating)
    B   P0  payments,checkout Sun 30 Mar 22:30   ack 2, mit 20, res 90, closed 100
        (Berlin: Mon 31 Mar 00:30 CEST → week of 31 Mar; a fixed +01:00 would say 30 Mar)
    C   P2  search (customer) Sun 30 Mar 21:30   ack 6, inv 6, mit 60, inv 100, mit 150,
        (Berlin: Sun 30 Mar 23:30 CEST → week of 24 Mar)   res 300, reopened 360, res 400
    G   P2  checkout          Sun  6 Apr 21:30   ack 20, inv 25 (still investigating)
        (Berlin: Sun 6 Apr 23:30, the period's last hour)
    E   P3  search (customer) Wed  2 Apr 08:00   never acknowledged
    -- outside the period --
    F   P1  search            Sun 16 Mar 22:30   ack 8, res 60       (previous period's last
        hour in Berlin; its downtime runs 30 minutes into the period)
    X   P0  checkout          Sun 16 Mar 20:00   ack 10, res 300     (previous period; 120
        minutes of downtime inside the period, 23:00 → 01:00)
    J   P1  search            Wed  5 Mar 12:00   ack 12, res 200     (previous period)
    Y   P1  payments          Sat  1 Feb 09:00   open                (before both periods; its
        downtime covers the whole period)
    H   P2  checkout (cust.)  Sun  6 Apr 22:30   open                (Mon 7 Apr 00:30 CEST:
        after the period; no figure counts it)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from incidents.models import Incident, Status
from incidents.services import incident_declare, incident_transition
from insights.period import Filters, Period
from postmortems.models import ActionStatus, Postmortem
from postmortems.services import (
    action_item_create,
    action_item_set_status,
    postmortem_create,
    postmortem_publish,
    postmortem_review,
    postmortem_submit,
    postmortem_update,
)
from tests.factories import ServiceFactory

ZONE = "Europe/Berlin"
PERIOD = Period(date(2025, 3, 17), date(2025, 4, 6))
NOW = datetime(2025, 4, 10, 12, 0, tzinfo=UTC)
ALL_SEVERITIES = Filters()

ACK, INV, MIT, RES, CLOSED = (
    Status.ACKNOWLEDGED,
    Status.INVESTIGATING,
    Status.MITIGATING,
    Status.RESOLVED,
    Status.CLOSED,
)


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


@dataclass
class History:
    incidents: dict[str, Incident]
    services: dict[str, object]


def incident(by, services, ref, severity, detected, moves, *, customer_facing=False) -> Incident:
    incident = incident_declare(
        title=f"{ref}: {severity} on {', '.join(s.name for s in services)}",
        severity=severity,
        by=by,
        services=services,
        customer_facing=customer_facing,
        detected_at=detected,
        now=detected,
    )
    for minutes, to in moves:
        incident = incident_transition(
            incident=incident, to=to, by=by, now=detected + timedelta(minutes=minutes)
        )
    incident.refresh_from_db()
    return incident


def _published(postmortem: Postmortem, by, at: datetime) -> Postmortem:
    postmortem = postmortem_update(
        postmortem=postmortem, by=by, now=at, summary="What happened.", root_cause="Why."
    )
    postmortem = postmortem_submit(postmortem=postmortem, by=by, now=at)
    postmortem = postmortem_review(postmortem=postmortem, by=by, now=at)
    return postmortem_publish(postmortem=postmortem, by=by, now=at)


def build(by) -> History:
    """The history above, with its postmortems and action items. Needs the evidence gates off
    (P0/P1 move into mitigation without a diagnosis here)."""
    payments = ServiceFactory(name="Payments", slug="payments")
    search = ServiceFactory(name="Search", slug="search")
    checkout = ServiceFactory(name="Checkout", slug="checkout")
    # fmt: off
    spec = {
        "A": ("P1", [payments], utc(3, 23, 23, 30), [(4, ACK), (10, INV), (40, MIT), (120, RES), (180, CLOSED)], False),
        "D": ("P1", [search], utc(3, 18, 10), [(10, ACK), (45, RES)], False),
        "I": ("P1", [payments], utc(3, 25, 9), [(30, ACK), (40, INV), (100, MIT)], False),
        "B": ("P0", [payments, checkout], utc(3, 30, 22, 30), [(2, ACK), (20, MIT), (90, RES), (100, CLOSED)], False),
        "C": ("P2", [search], utc(3, 30, 21, 30), [(6, ACK), (6, INV), (60, MIT), (100, INV), (150, MIT), (300, RES), (360, INV), (400, RES)], True),
        "G": ("P2", [checkout], utc(4, 6, 21, 30), [(20, ACK), (25, INV)], False),
        "E": ("P3", [search], utc(4, 2, 8), [], True),
        "F": ("P1", [search], utc(3, 16, 22, 30), [(8, ACK), (60, RES)], False),
        "X": ("P0", [checkout], utc(3, 16, 20), [(10, ACK), (300, RES)], False),
        "J": ("P1", [search], utc(3, 5, 12), [(12, ACK), (200, RES)], False),
        "Y": ("P1", [payments], utc(2, 1, 9), [], False),
        "H": ("P2", [checkout], utc(4, 6, 22, 30), [], True),
    }
    # fmt: on
    incidents = {
        ref: incident(by, services, ref, severity, detected, moves, customer_facing=cf)
        for ref, (severity, services, detected, moves, cf) in spec.items()
    }
    _postmortems_and_actions(by, incidents)
    return History(incidents, {"payments": payments, "search": search, "checkout": checkout})


def _postmortems_and_actions(by, incidents: dict[str, Incident]) -> None:
    """Postmortems due 48 h after resolution:

    A due 26 Mar 01:30, published 25 Mar        → on time
    B due  2 Apr 00:00, published  3 Apr        → late
    C due  2 Apr 04:10, published exactly then  → on time (by the due time, inclusive)
    D due 20 Mar 10:45, never published         → overdue
    F due 18 Mar 23:30, published 18 Mar 20:00  → on time (F itself is in the previous
                                                  period; its postmortem is due in this one)
    X due 19 Mar 01:00, not required            → not counted
    → due 5, on time 3, late 1, overdue 1, pending 0: 60.0 %
    """

    def create(ref: str, *, required: bool = True) -> Postmortem:
        incident = incidents[ref]
        return postmortem_create(incident=incident, required=required, now=incident.resolved_at)

    a, b, c, d, f = (create(ref) for ref in "ABCDF")
    create("X", required=False)
    _published(a, by, utc(3, 25, 12))
    _published(b, by, utc(4, 3, 9))
    _published(c, by, c.due_at)
    _published(f, by, utc(3, 18, 20))
    # Action items of the period's incidents (today = 10 Apr): 5 in all, 3 open (one overdue),
    # 1 done, 1 won't do. F's overdue item belongs to the previous period: not counted.
    action_item_create(postmortem=a, title="Alert on queue depth", by=by, due_date=date(2025, 4, 5))
    done = action_item_create(postmortem=a, title="Runbook for the queue", by=by)
    action_item_set_status(item=done, status=ActionStatus.DONE, by=by, now=utc(4, 1, 9))
    progress = action_item_create(
        postmortem=b, title="Split the pool", by=by, due_date=date(2025, 4, 20)
    )
    action_item_set_status(item=progress, status=ActionStatus.IN_PROGRESS, by=by, now=utc(4, 2, 9))
    dropped = action_item_create(postmortem=b, title="Rewrite in Rust", by=by)
    action_item_set_status(
        item=dropped, status=ActionStatus.WONT_DO, by=by, reason="No.", now=utc(4, 2, 9)
    )
    action_item_create(postmortem=d, title="Index the search table", by=by)
    action_item_create(postmortem=f, title="Old overdue item", by=by, due_date=date(2025, 3, 20))
