"""Stakeholder notices: 24 h ahead, on start and end, each exactly once, via the outbox."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from accounts.permissions import Role
from incidents.models import OutboxEvent
from maintenance import notices, services
from maintenance.models import MaintenanceNotice, NoticeKind, Phase
from tests.factories import ServiceFactory, TeamFactory

from .support import HOUR, T0, plan, tick_all


@pytest.fixture
def commander(make_user):
    return make_user(Role.COMMANDER)


def sent_notices(kind=None):
    query = OutboxEvent.objects.filter(topic="maintenance.notice")
    return [e.payload for e in query.order_by("id") if kind is None or e.payload["kind"] == kind]


@pytest.mark.django_db
def test_the_advance_notice_goes_out_once_at_t_minus_24h(commander):
    team = TeamFactory()
    window = plan(commander, [ServiceFactory(slug="orders", owner_team=team)])
    assert notices.notices_send_due(now=T0 - 25 * HOUR) == 0
    assert notices.notices_send_due(now=T0 - 24 * HOUR) == 1
    assert notices.notices_send_due(now=T0 - 23 * HOUR) == 0
    [payload] = sent_notices()
    assert payload["kind"] == "advance" and payload["window_id"] == window.pk
    assert payload["services"][0]["slug"] == "orders"
    assert payload["services"][0]["owner_team_id"] == team.pk
    assert window.events.filter(kind="notice").count() == 1


@pytest.mark.django_db
def test_a_window_planned_less_than_a_day_ahead_is_announced_at_the_next_run(commander):
    plan(commander, [ServiceFactory()])
    assert notices.notices_send_due(now=T0 - 3 * HOUR) == 1


@pytest.mark.django_db
def test_moving_the_window_announces_the_new_time(commander):
    window = plan(commander, [ServiceFactory()])
    notices.notices_send_due(now=T0 - 20 * HOUR)
    services.window_update(
        window=window, by=commander, scheduled_start=T0 + HOUR, scheduled_end=T0 + 3 * HOUR
    )
    assert notices.notices_send_due(now=T0 - 19 * HOUR) == 1
    assert [n["scheduled_start"] for n in sent_notices("advance")] == [
        T0.isoformat(),
        (T0 + HOUR).isoformat(),
    ]


@pytest.mark.django_db
def test_start_end_and_cancellation_notices(commander):
    window = plan(commander, [ServiceFactory()])
    tick_all(window, commander, Phase.PRE)
    services.window_start(window=window, by=commander, now=T0)
    services.window_verify(window=window, by=commander, now=T0 + HOUR)
    tick_all(window, commander, Phase.POST)
    services.window_complete(window=window, by=commander, now=T0 + HOUR)
    assert [n["kind"] for n in sent_notices()] == ["start", "end"]

    quiet = plan(commander, [ServiceFactory()], start=T0 + 48 * HOUR)
    services.window_cancel(window=quiet, by=commander)  # nobody was told: nothing to retract
    told = plan(commander, [ServiceFactory()], start=T0 + 72 * HOUR)
    notices.notices_send_due(now=T0 + 50 * HOUR)
    services.window_cancel(window=told, by=commander)
    assert [n["kind"] for n in sent_notices()][2:] == ["advance", "cancelled"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_overlapping_beat_runs_send_the_notice_once(commander):
    """Two schedulers (or a slow run overlapping the next) race on the same due window."""
    for n in range(5):
        plan(commander, [ServiceFactory()], start=T0 + n * HOUR)
    barrier = threading.Barrier(2)
    sent, errors = [], []

    def beat():
        try:
            barrier.wait(5)
            sent.append(notices.notices_send_due(now=T0 - 20 * HOUR))
        except Exception as exc:  # reported below, not swallowed
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sum(sent) == 5
    assert MaintenanceNotice.objects.filter(kind=NoticeKind.ADVANCE).count() == 5
    assert len(sent_notices("advance")) == 5
