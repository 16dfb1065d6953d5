"""Beat's safety net: deliveries and groups a lost nudge or a dead worker left behind."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts import ingest
from alerts.models import AlertGroup, RawEvent
from alerts.services import group_sync, raw_events_prune, sweep
from incidents.models import Incident

from .payloads import am_alert, am_payload

pytestmark = pytest.mark.django_db


def _store(integration, body):
    """Record a delivery exactly as the endpoint does, without waking any worker."""
    ingest.delivery_record(integration=integration, payload=body)


def test_sweep_leaves_fresh_deliveries_to_the_worker_and_takes_old_ones(
    make_integration, checkout, settings
):
    settings.ALERTS_SWEEP_GRACE_SECONDS = 5
    am = make_integration()
    _store(am, am_payload(am_alert("A", severity="info")))
    assert sweep()["deliveries"] == 0  # too fresh: the nudged worker is on it
    assert sweep(now=timezone.now() + timedelta(seconds=6))["deliveries"] == 1
    assert RawEvent.objects.get().processed_at is not None
    assert AlertGroup.objects.count() == 1


def test_sweep_routes_a_group_a_crashed_worker_left_unrouted(make_integration, checkout):
    am = make_integration()
    _store(am, am_payload(am_alert("A")))
    # Fold without routing: what a worker dying between the two transactions leaves.
    from alerts.services import _process_batch

    _process_batch(older_than=None, now=None)
    group = AlertGroup.objects.get()
    assert group.routed_at is None and Incident.objects.count() == 0
    result = sweep(now=timezone.now() + timedelta(minutes=1))
    group.refresh_from_db()
    assert result["groups"] == 1 and group.routed_at is not None
    assert Incident.objects.count() == 1


def test_group_sync_is_idempotent(make_integration, checkout):
    am = make_integration()
    _store(am, am_payload(am_alert("A")))
    from alerts.services import pending_process

    pending_process()
    group = AlertGroup.objects.get()
    events = group.incident.events.count()
    for _ in range(3):
        group_sync(group_id=group.pk)
    assert group.incident.events.count() == events
    assert Incident.objects.count() == 1


def test_prune_drops_processed_deliveries_past_retention_only(make_integration, settings):
    settings.ALERTS_RAW_RETENTION_DAYS = 7
    am = make_integration()
    _store(am, am_payload(am_alert("old", severity="info")))
    _store(am, am_payload(am_alert("new", severity="info")))
    from alerts.services import pending_process

    pending_process()
    old = RawEvent.objects.order_by("pk").first()
    long_ago = timezone.now() - timedelta(days=8)
    RawEvent.objects.filter(pk=old.pk).update(received_at=long_ago, processed_at=long_ago)
    RawEvent.objects.create(
        integration=am, body="{}", body_digest="x", received_at=long_ago
    )  # never processed: kept whatever its age
    assert raw_events_prune() == 1
    assert RawEvent.objects.count() == 2
