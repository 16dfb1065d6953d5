"""Fixtures for the incidents tests: the seeded playbook, `declare(...)` and `walk(...)`."""

from __future__ import annotations

from datetime import timedelta

import pytest

from incidents.models import Incident
from incidents.services import incident_declare, incident_transition
from tests.seeds import reseed

from .support import PATH_TO, T0


@pytest.fixture
def playbook(db):
    """The severity policies and task templates the data migrations seed.

    Transactional tests end with a flush of every table, data-migration rows included, so a
    later transactional test would find none; the seed is idempotent, so seeding again is safe.
    """
    reseed()


@pytest.fixture
def declare(playbook, commander):
    """Declare an incident through the service, at a controlled `now` (T0 unless given)."""

    def make(*, severity="P0", title=None, by=None, services=(), now=T0, **extra) -> Incident:
        return incident_declare(
            title=title or f"{severity}: checkout failing",
            severity=severity,
            by=by or commander,
            services=services,
            now=now,
            **extra,
        )

    return make


@pytest.fixture
def walk(commander):
    """Move an incident along a legal path to `status`, one minute per move after `start`."""

    def move(incident: Incident, status: str, *, start=T0, by=None) -> Incident:
        for minutes, to in enumerate(PATH_TO[status], start=1):
            incident = incident_transition(
                incident=incident, to=to, by=by or commander, now=start + timedelta(minutes=minutes)
            )
        incident.refresh_from_db()
        return incident

    return move


@pytest.fixture(autouse=True)
def _core_playbook_only(without_evidence_gates):
    """These tests are about the core playbook; evidence gates are tested in tests/diagnostics."""
