"""Fixtures of the postmortem tests: resolved incidents at fixed times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accounts.permissions import Role
from incidents.services import incident_declare, incident_transition
from tests.factories import ServiceFactory
from tests.seeds import reseed

T0 = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
RESOLVE_PATH = ("acknowledged", "investigating", "mitigating", "resolved")


@pytest.fixture(autouse=True)
def _playbook(db, without_evidence_gates):
    reseed()


@pytest.fixture
def commander(make_user):
    return make_user(Role.COMMANDER)


@pytest.fixture
def resolved(commander):
    """Declare an incident at T0 and walk it to resolved, one move every 10 minutes."""

    def make(severity="P1", *, services=None, title="Checkout returns 503"):
        incident = incident_declare(
            title=title,
            severity=severity,
            by=commander,
            commander=commander,
            services=services if services is not None else [ServiceFactory()],
            now=T0,
        )
        for n, to in enumerate(RESOLVE_PATH, start=1):
            incident = incident_transition(
                incident=incident, to=to, by=commander, now=T0 + timedelta(minutes=10 * n)
            )
        incident.refresh_from_db()
        return incident

    return make
