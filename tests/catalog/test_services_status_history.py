"""Component status changes are recorded with their time: the uptime history's source."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from catalog.models import ComponentStatus, ServiceStatusChange
from catalog.services import service_set_status
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 29, 0, 59, tzinfo=UTC)


def test_each_change_is_recorded_once_with_its_time():
    service = ServiceFactory()
    service_set_status(service=service, status=ComponentStatus.MAJOR_OUTAGE, now=T0)
    service_set_status(service=service, status=ComponentStatus.MAJOR_OUTAGE, now=T0)  # no change
    service_set_status(service=service, status=ComponentStatus.OPERATIONAL)
    changes = list(ServiceStatusChange.objects.filter(service=service).order_by("changed_at"))
    assert [(c.previous, c.status) for c in changes] == [
        ("operational", "major_outage"),
        ("major_outage", "operational"),
    ]
    assert changes[0].changed_at == T0


def test_history_survives_a_rename():
    service = ServiceFactory(name="Checkout")
    service_set_status(service=service, status=ComponentStatus.PARTIAL_OUTAGE, now=T0)
    service.name = "Checkout API"
    service.save()
    assert service.status_changes.count() == 1
