"""Issue 7's status-page story through the maintenance services themselves: a window planned,
started, verified and completed shows in upcoming, then active with its components under
maintenance, then only in the full list."""

from __future__ import annotations

import pytest

from maintenance import services
from maintenance.models import Phase
from tests.factories import ServiceFactory
from tests.maintenance.support import T0, plan, tick_all

pytestmark = pytest.mark.django_db


def _maintenances(client, path):
    response = client.get(path)
    assert response.status_code == 200
    return response.json()["scheduled_maintenances"]


def _status_of(client, name):
    components = client.get("/api/v2/components.json").json()["components"]
    return {c["name"]: c["status"] for c in components}[name]


def test_a_window_run_by_the_services_moves_through_the_public_json(client, commander):
    db = ServiceFactory(name="Orders DB")
    window = plan(commander, [db], title="Upgrade the orders database")

    [upcoming] = _maintenances(client, "/api/v2/scheduled-maintenances/upcoming.json")
    assert upcoming["name"] == "Upgrade the orders database"
    assert upcoming["incident_updates"][0]["status"] == "scheduled"
    assert _maintenances(client, "/api/v2/scheduled-maintenances/active.json") == []

    tick_all(window, commander, Phase.PRE)
    services.window_start(window=window, by=commander, now=T0)
    assert _maintenances(client, "/api/v2/scheduled-maintenances/upcoming.json") == []
    [active] = _maintenances(client, "/api/v2/scheduled-maintenances/active.json")
    assert active["status"] == "in_progress"
    assert [u["status"] for u in active["incident_updates"]] == ["in_progress", "scheduled"]
    assert [c["status"] for c in active["components"]] == ["under_maintenance"]
    assert _status_of(client, "Orders DB") == "under_maintenance"
    assert "Maintenance in progress" in client.get("/status/").content.decode()

    window.refresh_from_db()
    services.window_verify(window=window, by=commander, now=T0)
    tick_all(window, commander, Phase.POST)
    window.refresh_from_db()
    services.window_complete(window=window, by=commander, now=T0)
    assert _maintenances(client, "/api/v2/scheduled-maintenances/active.json") == []
    [done] = _maintenances(client, "/api/v2/scheduled-maintenances.json")
    assert done["status"] == "completed"
    assert _status_of(client, "Orders DB") == "operational"
