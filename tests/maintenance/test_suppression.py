"""Alerts for services in a running window are recorded but open no incident."""

from __future__ import annotations

import json

import pytest

from accounts.permissions import Role
from alerts.models import AlertGroup
from alerts.services import integration_create
from catalog.models import ComponentStatus
from incidents.models import Incident
from maintenance import services
from maintenance.models import Phase
from tests.alerts.payloads import am_alert, am_payload
from tests.factories import ServiceFactory

from .support import plan, tick_all

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _process_inline(settings):
    settings.ALERTS_PROCESS_INLINE = True


@pytest.fixture
def fire(client):
    issued = integration_create(kind="alertmanager", name="prometheus")

    def send(alertname):
        response = client.post(
            "/api/integrations/alertmanager/",
            json.dumps(am_payload(am_alert(alertname, service="checkout"))),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {issued.token}",
        )
        assert response.status_code == 202, response.content
        return AlertGroup.objects.order_by("-pk").first()

    return send


def test_alerts_during_a_window_are_suppressed_and_page_again_after_it(make_user, fire):
    commander = make_user(Role.COMMANDER)
    checkout = ServiceFactory(slug="checkout", name="Checkout")
    window = plan(commander, [checkout])
    tick_all(window, commander, Phase.PRE)

    services.window_start(window=window, by=commander)
    # An incident update may set another status mid-window: the window itself still counts.
    checkout.refresh_from_db()
    checkout.status = ComponentStatus.DEGRADED_PERFORMANCE
    checkout.save()
    during = fire("DuringTheWindow")
    assert during.suppressed and during.incident is None
    assert Incident.objects.count() == 0

    services.window_verify(window=window, by=commander)
    assert fire("WhileVerifying").suppressed
    tick_all(window, commander, Phase.POST)
    services.window_complete(window=window, by=commander)

    after = fire("AfterTheWindow")
    assert not after.suppressed and after.incident is not None
    assert Incident.objects.count() == 1


def test_a_scheduled_window_does_not_suppress(make_user, fire):
    commander = make_user(Role.COMMANDER)
    checkout = ServiceFactory(slug="checkout", name="Checkout")
    plan(commander, [checkout])
    assert not fire("NotStartedYet").suppressed
