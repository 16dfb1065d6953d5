"""A component left non-operational without a public update for 2 h is flagged to admins once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accounts.permissions import Role
from catalog.models import ComponentStatus
from catalog.services import service_set_status
from incidents import events
from incidents.models import OutboxEvent
from incidents.services import incident_declare, public_update_post
from statuspage import stale
from statuspage.models import PageConfig, StaleComponentFlag
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 5, 6, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture(autouse=True)
def _topic():
    events.register_topic(stale.STALE_TOPIC)


def names(now):
    return [item.name for item in stale.stale_components(now=now)]


def test_an_outage_nobody_talks_about_is_stale_after_two_hours():
    search = ServiceFactory(name="Search")
    service_set_status(service=search, status=ComponentStatus.PARTIAL_OUTAGE, now=T0)
    assert names(T0 + HOUR) == []
    assert names(T0 + 2 * HOUR) == ["Search"]


def test_a_public_update_about_it_resets_the_clock(make_user):
    search = ServiceFactory(name="Search")
    commander = make_user(Role.COMMANDER)
    service_set_status(service=search, status=ComponentStatus.MAJOR_OUTAGE, now=T0)
    incident = incident_declare(
        title="Search down", severity="P1", by=commander, services=[search], now=T0
    )
    public_update_post(
        incident=incident, by=commander, status="identified", body="Fixing.", now=T0 + HOUR
    )
    assert names(T0 + 2 * HOUR) == []
    assert names(T0 + 3 * HOUR) == ["Search"]


def test_operational_maintenance_and_hidden_components_are_never_stale():
    ServiceFactory(name="Fine")
    maintenance = ServiceFactory(name="Maint")
    service_set_status(service=maintenance, status=ComponentStatus.UNDER_MAINTENANCE, now=T0)
    hidden = ServiceFactory(name="Hidden", show_on_status_page=False)
    service_set_status(service=hidden, status=ComponentStatus.MAJOR_OUTAGE, now=T0)
    assert names(T0 + 10 * HOUR) == []


def test_the_limit_is_configurable():
    config = PageConfig.current()
    config.stale_after_minutes = 30
    config.save()
    search = ServiceFactory(name="Search")
    service_set_status(service=search, status=ComponentStatus.DEGRADED_PERFORMANCE, now=T0)
    assert names(T0 + timedelta(minutes=31)) == ["Search"]


def test_admins_are_told_once_per_episode():
    search = ServiceFactory(name="Search")
    service_set_status(service=search, status=ComponentStatus.PARTIAL_OUTAGE, now=T0)
    assert stale.stale_flags_send(now=T0 + 3 * HOUR) == 1
    assert stale.stale_flags_send(now=T0 + 4 * HOUR) == 0
    [event] = OutboxEvent.objects.filter(topic=stale.STALE_TOPIC)
    assert event.payload["name"] == "Search" and event.payload["status"] == "partial_outage"
    # Recovered, then broken again: a new episode, a new flag.
    service_set_status(service=search, status=ComponentStatus.OPERATIONAL, now=T0 + 5 * HOUR)
    service_set_status(service=search, status=ComponentStatus.MAJOR_OUTAGE, now=T0 + 6 * HOUR)
    assert stale.stale_flags_send(now=T0 + 9 * HOUR) == 1
    assert StaleComponentFlag.objects.count() == 2


@pytest.mark.parametrize("count", [1, 20])
def test_query_count_is_constant(count, django_assert_max_num_queries):
    for n in range(count):
        service = ServiceFactory(name=f"S{n}")
        service_set_status(service=service, status=ComponentStatus.MAJOR_OUTAGE, now=T0)
    PageConfig.current()  # created once; its creation is not the check's cost
    with django_assert_max_num_queries(4):
        assert len(stale.stale_components(now=T0 + 3 * HOUR)) == count
