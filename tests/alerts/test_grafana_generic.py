"""Grafana's webhook contact point and our generic JSON format."""

import pytest

from alerts.models import Alert, AlertGroup, GroupStatus
from incidents.models import Incident

from .payloads import am_alert, generic_alert, grafana_payload

pytestmark = pytest.mark.django_db


def test_grafana_alerts_group_by_fingerprint_with_dashboard_links(post, make_integration, checkout):
    grafana = make_integration("grafana")
    alerts = [am_alert("CPU", severity="warning"), am_alert("Mem", severity="warning")]
    response = post("grafana", grafana_payload(*alerts), grafana.raw_token)
    assert response.status_code == 202
    assert response.json() == {"status": "accepted", "alerts": 2}
    group = AlertGroup.objects.get(dedup_key=alerts[0]["fingerprint"])
    assert {link["text"] for link in group.links} == {"Source", "Dashboard", "Panel", "Silence"}
    stored = Alert.objects.get(group=group)
    assert stored.payload["kind"] == "grafana" and stored.payload["values"] == {"B": 7.5}
    assert group.severity == "P3" and group.service == checkout


def test_grafana_resend_is_stored_once_and_resolve_closes_the_group(
    post, make_integration, checkout
):
    grafana = make_integration("grafana")
    alert = am_alert("CPU", severity="warning")
    post("grafana", grafana_payload(alert), grafana.raw_token)
    post("grafana", grafana_payload(alert), grafana.raw_token)
    assert Alert.objects.count() == 1
    resolved = {**alert, "status": "resolved", "endsAt": "2026-11-29T02:00:00Z"}
    post("grafana", grafana_payload(resolved), grafana.raw_token)
    assert AlertGroup.objects.get().status == GroupStatus.RESOLVED


def test_generic_single_alert_and_batch(post, make_integration, checkout):
    generic = make_integration("generic")
    assert post("generic", generic_alert("one"), generic.raw_token).json() == {
        "status": "accepted",
        "alerts": 1,
    }
    batch = {"alerts": [generic_alert("two"), generic_alert("three", service="checkout")]}
    assert post("generic", batch, generic.raw_token).json()["alerts"] == 2
    assert AlertGroup.objects.count() == 3
    assert AlertGroup.objects.get(dedup_key="three").service == checkout


def test_generic_event_id_makes_a_resend_a_no_op_and_status_drives_the_group(
    post, make_integration, checkout
):
    generic = make_integration("generic")
    event = generic_alert("k", id="evt-1", severity="critical", service="checkout")
    post("generic", event, generic.raw_token)
    post("generic", event, generic.raw_token)
    assert AlertGroup.objects.get().alert_count == 1
    post("generic", {"key": "k", "status": "acknowledged"}, generic.raw_token)
    assert AlertGroup.objects.get().status == GroupStatus.ACKNOWLEDGED
    post("generic", {"key": "k", "status": "resolved"}, generic.raw_token)
    assert AlertGroup.objects.get().status == GroupStatus.RESOLVED
    assert Incident.objects.count() == 1


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"title": "no key"}, "alerts[0].key: required"),
        ({"key": "k"}, "alerts[0].title: required when firing"),
        ({"key": "k", "title": "t", "status": "exploded"}, "alerts[0].status"),
        ({"key": "k", "title": "t", "labels": {"a": 1}}, "alerts[0].labels"),
        ({"alerts": []}, "alerts: must be a non-empty list"),
        ({"key": "k", "title": "t", "links": [{"text": "no href"}]}, "alerts[0].links"),
    ],
)
def test_generic_invalid_payloads(post, make_integration, payload, error):
    generic = make_integration("generic")
    response = post("generic", payload, generic.raw_token)
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "invalid_payload"
    assert any(e.startswith(error) for e in body["errors"]), body
