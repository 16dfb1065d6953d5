"""Incremental upkeep of the uptime days: only what can have changed is recomputed, in a fixed
number of queries; status changes and public updates refresh at once after commit."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import ComponentStatus as S
from catalog.services import service_set_status
from incidents.models import Incident
from statuspage.cache import VERSION_KEY
from statuspage.models import UptimeDay
from statuspage.tasks import uptime_refresh as uptime_refresh_task
from statuspage.uptime import uptime_refresh, uptime_refresh_incident, uptime_refresh_service
from tests.statuspage.incident_support import declare, publish
from tests.statuspage.uptime_support import history, local, service_created

pytestmark = pytest.mark.django_db
MINUTE = timedelta(minutes=1)


@pytest.fixture(autouse=True)
def in_utc(settings):
    settings.TIME_ZONE = "UTC"


def utc(*args):
    return local("UTC", *args)


def computed(service) -> dict[date, object]:
    return dict(UptimeDay.objects.filter(service=service).values_list("day", "computed_at"))


def test_later_runs_recompute_only_today_and_the_day_left_unfinished():
    service = service_created(utc(2025, 3, 1))
    first_run = utc(2025, 3, 10, 12, 0)
    assert uptime_refresh(now=first_run) == 10  # 1 … 10 March

    assert uptime_refresh(now=first_run + 5 * MINUTE) == 1
    stamps = computed(service)
    assert stamps[date(2025, 3, 10)] == first_run + 5 * MINUTE
    assert stamps[date(2025, 3, 9)] == first_run

    # Just after midnight: yesterday was computed before it ended, so it is finished now.
    after_midnight = utc(2025, 3, 11, 0, 10)
    assert uptime_refresh(now=after_midnight) == 2
    assert uptime_refresh(now=after_midnight + 5 * MINUTE) == 1
    assert UptimeDay.objects.filter(service=service).count() == 11


def test_a_new_component_gets_its_days_from_its_creation_only():
    service_created(utc(2025, 3, 1))
    uptime_refresh(now=utc(2025, 3, 10, 12, 0))
    newcomer = service_created(utc(2025, 3, 9, 18, 0))
    assert uptime_refresh(now=utc(2025, 3, 10, 12, 5)) == 1 + 2
    assert sorted(computed(newcomer)) == [date(2025, 3, 9), date(2025, 3, 10)]


def test_internal_components_get_no_days():
    service_created(utc(2025, 3, 1), show_on_status_page=False)
    assert uptime_refresh(now=utc(2025, 3, 10, 12, 0)) == 0
    assert not UptimeDay.objects.exists()


def test_a_change_recorded_for_an_earlier_day_is_recomputed_from_that_day():
    service = service_created(utc(2025, 3, 1))
    now = utc(2025, 3, 10, 12, 0)
    uptime_refresh(now=now)
    service_set_status(service=service, status=S.MAJOR_OUTAGE, now=utc(2025, 3, 7, 23, 0))

    assert uptime_refresh_service(service, utc(2025, 3, 7, 23, 0), now=now + MINUTE) == 4
    row = UptimeDay.objects.get(service=service, day=date(2025, 3, 8))
    assert (row.worst_status, row.minutes, row.computed_at) == (
        "major_outage",
        {"major_outage": 1440},
        now + MINUTE,
    )
    assert computed(service)[date(2025, 3, 6)] == now


def test_status_changes_refresh_their_component_after_commit(django_capture_on_commit_callbacks):
    service = service_created(utc(2020, 1, 1))
    with django_capture_on_commit_callbacks(execute=True):
        service_set_status(service=service, status=S.PARTIAL_OUTAGE)
    # From the change's day on (today); the beat fills the days before.
    (today,) = UptimeDay.objects.filter(service=service)
    assert today.worst_status == "partial_outage"


def test_the_next_run_fills_the_days_before_an_on_change_refresh():
    service = service_created(utc(2025, 3, 1))
    now = utc(2025, 3, 10, 12, 0)
    service_set_status(service=service, status=S.MAJOR_OUTAGE, now=utc(2025, 3, 8, 6, 0))
    assert uptime_refresh_service(service, utc(2025, 3, 8, 6, 0), now=now) == 3

    assert uptime_refresh(now=now + MINUTE) == 10
    assert uptime_refresh(now=now + 2 * MINUTE) == 1
    assert (
        UptimeDay.objects.get(service=service, day=date(2025, 3, 7)).worst_status == "operational"
    )


def test_a_failing_refresh_never_breaks_the_status_write(
    django_capture_on_commit_callbacks, settings, caplog
):
    service = service_created(utc(2020, 1, 1))
    settings.TIME_ZONE = "Nowhere/Atlantis"  # the refresh cannot compute days
    with django_capture_on_commit_callbacks(execute=True):
        service_set_status(service=service, status=S.MAJOR_OUTAGE)
    assert "Nowhere/Atlantis" in caplog.text  # the refresh failed, and said so
    service.refresh_from_db()
    assert service.status == "major_outage"
    assert service.status_changes.count() == 1


def test_public_incidents_show_on_the_days_they_touch_with_their_public_name_only():
    api = service_created(utc(2025, 3, 1), name="API")
    incident = declare(
        title="db-7 primary crashed",
        public_title="Checkout errors",
        services=[api],
        now=utc(2025, 3, 5, 22, 0),
    )
    publish(incident, "Looking.", now=utc(2025, 3, 5, 22, 30), component_status=S.MAJOR_OUTAGE)
    publish(
        incident,
        "Fixed.",
        status="resolved",
        now=utc(2025, 3, 7, 1, 0),
        component_status=S.OPERATIONAL,
    )
    declare(title="Never published", services=[api], now=utc(2025, 3, 6, 9, 0))

    uptime_refresh(now=utc(2025, 3, 10, 12, 0))

    entry = [{"id": f"INC-{incident.number}", "name": "Checkout errors"}]
    by_day = dict(UptimeDay.objects.filter(service=api).values_list("day", "incidents"))
    assert by_day[date(2025, 3, 4)] == []
    assert by_day[date(2025, 3, 5)] == entry
    assert by_day[date(2025, 3, 6)] == entry
    assert by_day[date(2025, 3, 7)] == entry
    assert by_day[date(2025, 3, 8)] == []
    stored = str(list(UptimeDay.objects.values_list("incidents", flat=True)))
    assert "db-7" not in stored and "Never published" not in stored


def test_an_incident_published_without_component_statuses_touches_no_bar():
    api = service_created(utc(2025, 3, 1))
    incident = declare(services=[api], now=utc(2025, 3, 5, 9, 0))
    publish(incident, "We are looking into reports.", now=utc(2025, 3, 5, 9, 5))
    uptime_refresh(now=utc(2025, 3, 10, 12, 0))
    assert not UptimeDay.objects.exclude(incidents=[]).exists()


def test_a_corrected_public_title_reaches_past_days_on_the_next_run():
    api = service_created(utc(2025, 3, 1))
    incident = declare(public_title="Database db-7 down", services=[api], now=utc(2025, 3, 3, 9))
    publish(incident, "Down.", now=utc(2025, 3, 3, 9, 5), component_status=S.MAJOR_OUTAGE)
    publish(
        incident, "Up.", status="resolved", now=utc(2025, 3, 3, 10), component_status="operational"
    )
    neighbour = declare(public_title="Slow search", services=[api], now=utc(2025, 3, 3, 14))
    publish(neighbour, "Slow.", now=utc(2025, 3, 3, 14), component_status=S.DEGRADED_PERFORMANCE)
    publish(
        neighbour,
        "Fine.",
        status="resolved",
        now=utc(2025, 3, 3, 15),
        component_status="operational",
    )
    Incident.objects.filter(pk__in=[incident.pk, neighbour.pk]).update(
        updated_at=utc(2025, 3, 3, 15)
    )
    now = utc(2025, 3, 10, 12, 0)
    uptime_refresh(now=now)
    assert uptime_refresh(now=now + 5 * MINUTE) == 1  # an untouched incident: today only

    incident.public_title = "Checkout errors"
    incident.save()
    assert uptime_refresh(now=now + 10 * MINUTE) == 8  # from the incident's day: 3 … 10 March

    row = UptimeDay.objects.get(service=api, day=date(2025, 3, 3))
    assert row.incidents == [
        {"id": f"INC-{incident.number}", "name": "Checkout errors"},
        {"id": f"INC-{neighbour.number}", "name": "Slow search"},  # untouched, still there
    ]


def test_a_public_update_refreshes_the_incident_days_after_commit(
    django_capture_on_commit_callbacks,
):
    api = service_created(utc(2020, 1, 1))
    incident = declare(public_title="Slow checkout", services=[api])
    with django_capture_on_commit_callbacks(execute=True):
        publish(incident, "Looking.", component_status=S.DEGRADED_PERFORMANCE)
    latest = UptimeDay.objects.filter(service=api).latest("day")
    assert latest.worst_status == "degraded_performance"
    assert latest.incidents == [{"id": f"INC-{incident.number}", "name": "Slow checkout"}]


def test_refreshing_one_incident_recomputes_its_days_only():
    api = service_created(utc(2025, 3, 1))
    incident = declare(services=[api], now=utc(2025, 3, 8, 9))
    publish(incident, "Down.", now=utc(2025, 3, 8, 9, 5), component_status=S.MAJOR_OUTAGE)
    assert uptime_refresh_incident(incident.pk, now=utc(2025, 3, 10, 12, 0)) == 3  # 8 … 10 March


def test_the_beat_task_refreshes_with_the_current_time():
    service = service_created(utc(2020, 1, 1))
    assert uptime_refresh_task.apply().get() == 90
    assert UptimeDay.objects.filter(service=service).count() == 90


def _components_with_history(n: int):
    for i in range(n):
        service = service_created(utc(2025, 3, 1), name=f"Component {i}")
        history(
            service,
            (utc(2025, 3, 9, 10, i % 60), S.PARTIAL_OUTAGE),
            (utc(2025, 3, 10, 9, 0), S.OPERATIONAL),
        )
        incident = declare(services=[service], now=utc(2025, 3, 9, 10))
        publish(incident, "Down.", now=utc(2025, 3, 9, 10, 1), component_status=S.MAJOR_OUTAGE)
    # Written "then", not edited since (an edit would make the next run reach back: one query more).
    Incident.objects.update(updated_at=utc(2025, 3, 9, 10, 1))
    return service


def _queries(function, **kwargs) -> int:
    with CaptureQueriesContext(connection) as context:
        function(**kwargs)
    return len(context.captured_queries)


# SQLite caps a statement at 999 parameters, so a first fill takes more upserts there.
@pytest.mark.postgres
@pytest.mark.parametrize("n", [1, 50])
def test_refresh_queries_do_not_grow_with_components_or_history(n):
    service = _components_with_history(n)
    now = utc(2025, 3, 10, 12, 0)
    counts = [
        _queries(uptime_refresh, now=now),
        _queries(uptime_refresh, now=now + 5 * MINUTE),
        _queries(uptime_refresh_service, service=service, since=utc(2025, 3, 2), now=now),
    ]
    # Components, their last rows, incident spans, status changes, existing rows, one upsert
    # (the service refresh reads no last rows).
    assert counts == [6, 6, 5]


@pytest.mark.postgres
def test_one_refresh_of_fifty_components_over_ninety_days_is_quick():
    """The first fill of 50 x 90 days: a few upserts, not one per row."""
    for i in range(50):
        service_created(utc(2024, 1, 1), name=f"Old component {i}")
    with CaptureQueriesContext(connection) as context:
        assert uptime_refresh(now=utc(2025, 3, 10, 12, 0)) == 50 * 90
    assert len(context.captured_queries) <= 8


def test_only_a_refresh_that_changes_a_bar_invalidates_the_page_cache():
    quiet = service_created(utc(2025, 3, 1))
    now = utc(2025, 3, 10, 12, 0)
    uptime_refresh(now=now)
    version = cache.get(VERSION_KEY)
    uptime_refresh(now=now + 5 * MINUTE)
    assert cache.get(VERSION_KEY) == version  # same bars: the cached page and its ETag stay

    service_set_status(service=quiet, status=S.PARTIAL_OUTAGE, now=now + 6 * MINUTE)
    uptime_refresh(now=now + 10 * MINUTE)
    assert cache.get(VERSION_KEY) != version
