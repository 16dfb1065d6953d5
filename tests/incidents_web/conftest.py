import pytest

from incidents.services import incident_declare
from tests.factories import ServiceFactory


@pytest.fixture
def incident(commander):
    """A P1 on the `checkout` service, commanded by the commander persona."""
    return incident_declare(
        title="Checkout 503",
        severity="P1",
        by=commander,
        commander=commander,
        services=[ServiceFactory(slug="checkout")],
    )


@pytest.fixture(autouse=True)
def _core_playbook_only(without_evidence_gates):
    """These tests are about the core playbook; evidence gates are tested in tests/diagnostics."""
