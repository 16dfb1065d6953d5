"""Reminders: a postmortem due within 12 h, overdue, an overdue action item — once each."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from django.db import connection

from incidents.models import OutboxEvent
from postmortems import reminders, services
from postmortems.models import Reminder

from .conftest import T0


def sent(kind=None):
    rows = OutboxEvent.objects.filter(topic="postmortem.reminder").order_by("id")
    return [r.payload for r in rows if kind is None or r.payload["kind"] == kind]


@pytest.mark.django_db
def test_due_soon_then_overdue_once_each(resolved):
    postmortem = services.postmortem_create(incident=resolved())
    due = postmortem.due_at
    assert reminders.reminders_send_due(now=due - timedelta(hours=13))["postmortem_due_soon"] == 0
    assert reminders.reminders_send_due(now=due - timedelta(hours=11))["postmortem_due_soon"] == 1
    assert reminders.reminders_send_due(now=due - timedelta(hours=1))["postmortem_due_soon"] == 0
    assert reminders.reminders_send_due(now=due + timedelta(hours=1))["postmortem_overdue"] == 1
    assert reminders.reminders_send_due(now=due + timedelta(days=3))["postmortem_overdue"] == 0
    assert [r["kind"] for r in sent()] == ["postmortem_due_soon", "postmortem_overdue"]
    assert sent()[0]["owner_id"] == postmortem.owner_id


@pytest.mark.django_db
def test_published_and_optional_postmortems_get_no_reminders(resolved, commander):
    optional = services.postmortem_create(incident=resolved("P3"), required=False)
    assert not optional.required
    done = services.postmortem_create(incident=resolved())
    done.first_published_at = T0
    done.save()
    counts = reminders.reminders_send_due(now=done.due_at + timedelta(hours=1))
    assert counts["postmortem_overdue"] == 0


@pytest.mark.django_db
def test_an_overdue_action_item_reminds_its_owner_once(resolved, commander):
    postmortem = services.postmortem_create(incident=resolved())
    item = services.action_item_create(
        postmortem=postmortem, title="Add alert", by=commander, due_date=date(2026, 3, 10)
    )
    postmortem.first_published_at = T0  # only the action item is late
    postmortem.save()
    on_due_day = T0.replace(month=3, day=10, hour=20)
    assert reminders.reminders_send_due(now=on_due_day)["action_overdue"] == 0
    day_after = on_due_day + timedelta(days=1)
    assert reminders.reminders_send_due(now=day_after)["action_overdue"] == 1
    assert reminders.reminders_send_due(now=day_after + timedelta(days=1))["action_overdue"] == 0
    [payload] = sent("action_overdue")
    assert payload["action_item_id"] == item.pk and payload["owner_id"] == commander.pk


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_overlapping_beat_runs_remind_once(resolved):
    postmortems = [services.postmortem_create(incident=resolved(title=f"n{n}")) for n in range(4)]
    now = postmortems[0].due_at + timedelta(hours=2)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def beat():
        try:
            barrier.wait(5)
            results.append(reminders.reminders_send_due(now=now)["postmortem_overdue"])
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == [] and sum(results) == 4
    assert Reminder.objects.filter(kind="postmortem_overdue").count() == 4
    assert len(sent("postmortem_overdue")) == 4
