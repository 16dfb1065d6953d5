"""A delivery whose processing fails never blocks the others and is never thrown away.

The failure is real: a PostgreSQL trigger rejects one alert's insert, as a constraint or a
bad value would.
"""

import io
import json

import pytest
from django.core.management import call_command
from django.db import connection

from alerts.models import AlertGroup, RawEvent
from alerts.services import MAX_ATTEMPTS, pending_process

from .payloads import am_alert, am_payload

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def poison_trigger():
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION test_poison() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'poisoned alert'; END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            "CREATE TRIGGER test_poison BEFORE INSERT ON alerts_alert FOR EACH ROW "
            "WHEN (NEW.summary = 'poison') EXECUTE FUNCTION test_poison()"
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER IF EXISTS test_poison ON alerts_alert")
        cursor.execute("DROP FUNCTION IF EXISTS test_poison()")


def test_one_failing_delivery_does_not_hold_up_the_rest_and_is_kept(
    settings, post, make_integration, checkout, poison_trigger, client
):
    settings.ALERTS_PROCESS_INLINE = False
    am = make_integration()
    post("alertmanager", am_payload(am_alert("Before", severity="info")), am.raw_token)
    post("alertmanager", am_payload(am_alert("Bad", summary="poison")), am.raw_token)
    post("alertmanager", am_payload(am_alert("After", severity="info")), am.raw_token)

    pending_process()

    bad = RawEvent.objects.get(processed_at__isnull=True)
    assert bad.attempts == MAX_ATTEMPTS and "poisoned alert" in bad.error
    assert sorted(AlertGroup.objects.values_list("labels__alertname", flat=True)) == [
        "After",
        "Before",
    ]
    settings.METRICS_TOKEN = ""
    assert "opsportal_alert_deliveries_failed 1.0" in client.get("/metrics").content.decode()

    # The cause is fixed; the kept delivery is processed on request.
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER test_poison ON alerts_alert")
    out = io.StringIO()
    call_command("reprocess_alert_deliveries", stdout=out)
    assert json.loads(out.getvalue()) == {"reset": 1, "processed": 1, "failed": 0}
    assert AlertGroup.objects.filter(labels__alertname="Bad").exists()
