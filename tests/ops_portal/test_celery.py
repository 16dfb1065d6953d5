"""Celery: the settings ARCHITECTURE.md §9 requires, the redelivery cap, and a real worker."""

from __future__ import annotations

import time
import uuid

import pytest
from celery import shared_task
from django.conf import settings

from ops_portal.celery import RedeliveryCappedTask, app
from ops_portal.models import WorkerHeartbeat
from tests.workers import celery_worker


def test_reliability_settings():
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.task_soft_time_limit < conf.task_time_limit
    if settings.REDIS_URL:
        assert conf.task_time_limit < conf.broker_transport_options["visibility_timeout"]


def test_beat_schedules_the_worker_heartbeat():
    app.loader.import_default_modules()
    schedule = app.conf.beat_schedule
    entries = [
        entry for entry in schedule.values() if entry["task"] == "ops_portal.tasks.record_heartbeat"
    ]
    assert entries and entries[0]["schedule"] == settings.WORKER_HEARTBEAT_SECONDS


RUNS: list[str] = []


@shared_task(name="tests.poison")
def poison() -> None:
    RUNS.append("ran")


def test_every_task_uses_the_redelivery_cap():
    assert isinstance(poison, RedeliveryCappedTask)


def test_a_redelivered_task_is_dropped_after_the_cap():
    RUNS.clear()
    task_id = f"poison-{uuid.uuid4()}"
    for _ in range(settings.CELERY_TASK_MAX_REDELIVERIES + 3):
        poison.push_request(id=task_id, is_eager=False)
        try:
            poison()
        finally:
            poison.pop_request()
    # First delivery + the allowed redeliveries run; the rest are dropped.
    assert len(RUNS) == settings.CELERY_TASK_MAX_REDELIVERIES + 1


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_heartbeat_through_redis():
    """Enqueue through the Redis broker; a separate worker process writes the row."""
    with celery_worker() as worker:
        app.send_task("ops_portal.tasks.record_heartbeat", queue=worker.queue)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if WorkerHeartbeat.objects.filter(worker=worker.hostname).exists():
                break
            assert worker.alive(), "the worker process exited"
            time.sleep(0.2)
        assert WorkerHeartbeat.objects.filter(worker=worker.hostname).exists()
