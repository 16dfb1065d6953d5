"""Fixtures of the postmortem page tests: resolved incidents and their postmortems, now-ish.

Pages compute "due in", "overdue" and today's action items from the real clock, so incidents
here resolve relative to `timezone.now()` rather than a fixed date.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.services import incident_declare, incident_transition
from postmortems import services
from tests.factories import ServiceFactory
from tests.seeds import reseed

RESOLVE_PATH = ("acknowledged", "investigating", "mitigating", "resolved")


@pytest.fixture(autouse=True)
def _playbook(db, without_evidence_gates):
    reseed()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def checkout(db):
    return ServiceFactory(name="Checkout", slug="checkout")


@pytest.fixture
def resolved(commander, checkout):
    """Declare an incident two hours ago and walk it to resolved, one move every 10 minutes."""

    def make(severity="P1", *, title="Checkout returns 503", services=None, hours_ago=2):
        start = timezone.now() - timedelta(hours=hours_ago)
        incident = incident_declare(
            title=title,
            severity=severity,
            by=commander,
            commander=commander,
            services=[checkout] if services is None else services,
            now=start,
        )
        for n, to in enumerate(RESOLVE_PATH, start=1):
            incident = incident_transition(
                incident=incident, to=to, by=commander, now=start + timedelta(minutes=10 * n)
            )
        incident.refresh_from_db()
        return incident

    return make


@pytest.fixture
def postmortem_of(resolved, commander):
    """A resolved incident's postmortem (the resolve hook runs on commit, which tests roll
    back: create it the way the hook does)."""

    def make(severity="P1", **kwargs):
        return services.postmortem_create(incident=resolved(severity, **kwargs), by=commander)

    return make


@pytest.fixture
def postmortem(postmortem_of):
    return postmortem_of()
