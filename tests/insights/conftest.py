"""Fixtures for the insights tests: the business time zone with DST, and the fixed history."""

from __future__ import annotations

import pytest

from . import history as fixed


@pytest.fixture
def berlin(settings):
    """A business time zone with summer time (the project default is UTC, which has none)."""
    settings.BUSINESS_TIME_ZONE = fixed.ZONE
    return fixed.ZONE


@pytest.fixture
def history(berlin, commander, without_evidence_gates) -> fixed.History:
    return fixed.build(commander)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
