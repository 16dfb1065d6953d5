"""Alertmanager deliveries end to end: accept, fold into groups, open and resolve incidents."""

import pytest

from alerts.models import Alert, AlertGroup, GroupStatus, RawEvent
from incidents.models import EventKind, Incident, Status

from .payloads import am_alert, am_payload

pytestmark = pytest.mark.django_db


def test_firing_batch_is_accepted_and_grouped_by_fingerprint(post, make_integration, checkout):
    integration = make_integration()
    alerts = [am_alert(f"Alert{i}", severity="warning") for i in range(3)]
    response = post("alertmanager", am_payload(*alerts), integration.raw_token)
    assert response.status_code == 202
    assert response.json() == {"status": "accepted", "alerts": 3}
    groups = AlertGroup.objects.filter(integration=integration)
    assert sorted(g.dedup_key for g in groups) == sorted(a["fingerprint"] for a in alerts)
    assert all(g.status == GroupStatus.FIRING and g.alert_count == 1 for g in groups)
    assert RawEvent.objects.get().processed_at is not None


def test_critical_alert_opens_one_p1_incident_with_the_alert_on_its_timeline(
    post, make_integration, checkout
):
    integration = make_integration()
    post("alertmanager", am_payload(am_alert(summary="checkout 5xx > 5%")), integration.raw_token)
    incident = Incident.objects.get()
    assert incident.severity == "P1"
    assert incident.title == "checkout 5xx > 5%"
    assert list(incident.services.all()) == [checkout]
    kinds = list(incident.events.order_by("seq").values_list("kind", flat=True))
    assert kinds == [EventKind.DECLARED, EventKind.ALERT]
    group = AlertGroup.objects.get()
    assert group.incident == incident and group.severity == "P1" and group.action == "open_incident"


def test_resend_of_the_same_notification_is_stored_once(post, make_integration, checkout):
    integration = make_integration()
    payload = am_payload(am_alert())
    for _ in range(3):
        assert post("alertmanager", payload, integration.raw_token).status_code == 202
    assert RawEvent.objects.count() == 1
    assert Alert.objects.count() == 1
    assert AlertGroup.objects.get().alert_count == 1


def test_repeat_inside_a_different_notification_is_not_a_new_event(
    post, make_integration, checkout
):
    integration = make_integration()
    first = am_alert("A")
    post("alertmanager", am_payload(first), integration.raw_token)
    post("alertmanager", am_payload(first, am_alert("B", severity="info")), integration.raw_token)
    assert Alert.objects.count() == 2
    assert AlertGroup.objects.get(dedup_key=first["fingerprint"]).alert_count == 1


def test_mixed_batch_resolves_one_group_and_keeps_the_other_firing(
    post, make_integration, checkout
):
    integration = make_integration()
    a, b = am_alert("A", severity="info"), am_alert("B", severity="info")
    post("alertmanager", am_payload(a, b), integration.raw_token)
    resolved = {**a, "status": "resolved", "endsAt": "2026-11-29T01:00:00Z"}
    post("alertmanager", am_payload(resolved, b), integration.raw_token)
    assert AlertGroup.objects.get(dedup_key=a["fingerprint"]).status == GroupStatus.RESOLVED
    assert AlertGroup.objects.get(dedup_key=b["fingerprint"]).status == GroupStatus.FIRING


def test_refiring_after_resolve_starts_a_new_group(post, make_integration, checkout):
    integration = make_integration()
    alert = am_alert(severity="info")
    post("alertmanager", am_payload(alert), integration.raw_token)
    post(
        "alertmanager",
        am_payload({**alert, "status": "resolved", "endsAt": "2026-11-29T01:00:00Z"}),
        integration.raw_token,
    )
    post(
        "alertmanager",
        am_payload({**alert, "startsAt": "2026-11-29T02:00:00Z"}),
        integration.raw_token,
    )
    statuses = list(AlertGroup.objects.order_by("pk").values_list("status", flat=True))
    assert statuses == [GroupStatus.RESOLVED, GroupStatus.FIRING]


def test_all_groups_resolved_suggests_resolution_but_never_resolves_a_p1(
    post, make_integration, checkout
):
    integration = make_integration(auto_resolve_incidents=True)
    alert = am_alert()
    post("alertmanager", am_payload(alert), integration.raw_token)
    post(
        "alertmanager",
        am_payload({**alert, "status": "resolved", "endsAt": "2026-11-29T01:00:00Z"}),
        integration.raw_token,
    )
    incident = Incident.objects.get()
    assert incident.status == Status.TRIGGERED
    last = incident.events.order_by("-seq").first()
    assert last.data["change"] == "all_resolved" and last.data["suggest"] == "resolved"
