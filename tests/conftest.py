"""Shared fixtures: personas per role, API clients, and the service-requirement markers.

`@pytest.mark.postgres` / `@pytest.mark.redis` tests need the real servers (DATABASE_URL /
REDIS_URL). Without them they skip locally; with REQUIRE_SERVICES=1 (CI) they fail instead.
"""

from __future__ import annotations

import os
import shutil

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.permissions import Role
from tests.factories import UserFactory
from tests.seeds import reseed

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
ALERTMANAGER = "prometheus-alertmanager"


def pytest_report_header(config):
    database = settings.DATABASES["default"]
    where = (
        f"PostgreSQL {database.get('HOST')}:{database.get('PORT')}"
        if settings.DATABASE_VENDOR == "postgresql"
        else "SQLite"
    )
    redis = "Redis " + settings.REDIS_URL if settings.REDIS_URL else "no Redis (local-memory cache)"
    required = "required" if REQUIRE_SERVICES else "optional"
    return [f"ops-portal: database={where}; {redis}; services {required}"]


def _service_missing(item) -> str | None:
    if item.get_closest_marker("postgres") and settings.DATABASE_VENDOR != "postgresql":
        return "needs PostgreSQL: set DATABASE_URL=postgres://…"
    if item.get_closest_marker("redis") and not settings.REDIS_URL:
        return "needs Redis: set REDIS_URL=redis://…"
    if item.get_closest_marker("alertmanager") and not shutil.which(ALERTMANAGER):
        return f"needs {ALERTMANAGER}: apt-get install prometheus-alertmanager"
    return None


def pytest_runtest_setup(item):
    reason = _service_missing(item)
    if reason is None:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but this test {reason}", pytrace=False)
    pytest.skip(reason)


def _is_transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    names = set(request.fixturenames)
    return bool(
        {"transactional_db", "live_server"} & names
        or (marker is not None and marker.kwargs.get("transaction"))
    )


@pytest.fixture(autouse=True)
def _reseed_after_flush(request):
    """Transactional tests flush every table, data migrations' rows included: put the seeded
    severity policy and playbook templates back before such a test runs."""
    if not _is_transactional(request):
        return
    request.getfixturevalue("transactional_db")
    from incidents.models import SeverityPolicy

    if not SeverityPolicy.objects.exists():
        reseed()


@pytest.fixture
def make_user(db):
    def make(role: Role | None = None, **kwargs):
        return UserFactory(role=role, **kwargs)

    return make


@pytest.fixture
def viewer(make_user):
    return make_user(Role.VIEWER, username="vera")


@pytest.fixture
def responder(make_user):
    return make_user(Role.RESPONDER, username="ravi")


@pytest.fixture
def commander(make_user):
    return make_user(Role.COMMANDER, username="cora")


@pytest.fixture
def admin_user(make_user):
    return make_user(Role.ADMIN, username="ada")


@pytest.fixture
def persona(request, make_user):
    """Indirect fixture: the user for a role name, or None for 'anonymous'."""
    role = request.param
    if role == "anonymous":
        return None
    return make_user(Role(role), username=f"{role}-persona")


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def api_as():
    """An APIClient signed in (session) as the given user, or anonymous for None."""

    def make(user):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user=user)
        return client

    return make


@pytest.fixture
def without_evidence_gates():
    """Suspend the evidence gates other apps plug into playbook moves (incidents/gates.py).

    For tests of the core playbook: P0/P1 moves into mitigation otherwise need a finished
    diagnosis, which is what tests/diagnostics checks.
    """
    from incidents import gates

    saved = dict(gates._gates)
    gates._gates.clear()
    yield
    gates._gates.update(saved)


@pytest.fixture(autouse=True)
def _fresh_status_page_cache():
    """Rolled-back test transactions never reach the status page's on-commit invalidation: start
    every test from a cold page cache so no test reads a body another test's data built."""
    from statuspage.cache import invalidate

    invalidate()
    yield
    invalidate()
