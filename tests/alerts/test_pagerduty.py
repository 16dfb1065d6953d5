"""PagerDuty Events API v2 clients: trigger, acknowledge and resolve drive groups and incidents."""

import pytest

from alerts.models import Alert, AlertGroup, GroupStatus, RawEvent
from incidents.models import Incident, Status

from .payloads import pd_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def pd(make_integration, checkout):
    return make_integration("pagerduty", default_service=checkout)


def test_trigger_with_dedup_key_answers_like_pagerduty(post, pd):
    response = post("pagerduty", pd_event(pd.raw_token, dedup_key="disk-db-1"))
    assert response.status_code == 202
    assert response.json() == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": "disk-db-1",
    }
    group = AlertGroup.objects.get()
    assert (group.dedup_key, group.status, group.source) == ("disk-db-1", "firing", "db-1.prod")
    assert group.labels == {
        "source": "db-1.prod",
        "severity": "critical",
        "component": "postgres",
        "group": "prod-datapipe",
        "class": "disk",
    }
    assert {"href": "http://runbooks/disk", "text": "Runbook"} in group.links
    assert Alert.objects.get().payload["custom_details"] == {"free_space": "1%"}


def test_trigger_without_dedup_key_gets_one_and_a_retry_gets_the_same(post, pd):
    event = pd_event(pd.raw_token)
    first = post("pagerduty", event).json()["dedup_key"]
    second = post("pagerduty", event).json()["dedup_key"]
    assert first == second and len(first) == 32
    assert AlertGroup.objects.get().dedup_key == first
    assert Alert.objects.count() == 1  # the retry is not a second event


def test_critical_trigger_opens_an_incident_ack_acknowledges_it_and_resolve_suggests(post, pd):
    post("pagerduty", pd_event(pd.raw_token, dedup_key="k1"))
    incident = Incident.objects.get()
    assert incident.severity == "P1" and incident.status == Status.TRIGGERED

    post("pagerduty", pd_event(pd.raw_token, "acknowledge", dedup_key="k1"))
    incident.refresh_from_db()
    assert AlertGroup.objects.get().status == GroupStatus.ACKNOWLEDGED
    assert incident.status == Status.ACKNOWLEDGED

    post("pagerduty", pd_event(pd.raw_token, "resolve", dedup_key="k1"))
    incident.refresh_from_db()
    assert AlertGroup.objects.get().status == GroupStatus.RESOLVED
    assert incident.status == Status.ACKNOWLEDGED  # a person resolves a P1
    assert incident.events.order_by("-seq").first().data["change"] == "all_resolved"


def test_repeated_triggers_fold_into_one_group_with_a_count(post, pd):
    for n in range(4):
        post("pagerduty", pd_event(pd.raw_token, dedup_key="k", summary=f"Disk {90 + n}% full"))
    group = AlertGroup.objects.get()
    assert group.alert_count == 4 and group.title == "Disk 93% full"
    assert Incident.objects.count() == 1
    # repeats collapse: one "opened" alert event, no event per repeat
    assert Incident.objects.get().events.filter(kind="alert").count() == 1


def test_trigger_after_resolve_opens_a_new_group(post, pd):
    post("pagerduty", pd_event(pd.raw_token, dedup_key="k", severity="warning"))
    post("pagerduty", pd_event(pd.raw_token, "resolve", dedup_key="k"))
    post("pagerduty", pd_event(pd.raw_token, dedup_key="k", severity="warning"))
    assert list(AlertGroup.objects.order_by("pk").values_list("status", flat=True)) == [
        "resolved",
        "firing",
    ]


def test_ack_and_resolve_for_unknown_key_are_accepted_and_dropped(post, pd):
    for action in ("acknowledge", "resolve"):
        response = post("pagerduty", pd_event(pd.raw_token, action, dedup_key="nope"))
        assert response.status_code == 202
        assert response.json()["dedup_key"] == "nope"
    assert AlertGroup.objects.count() == 0
    assert RawEvent.objects.filter(processed_at__isnull=False).count() == 2


@pytest.mark.parametrize(
    ("severity", "expected"),
    [("critical", "P1"), ("error", "P2"), ("warning", "P3"), ("info", "P3")],
)
def test_default_severity_mapping(post, pd, severity, expected):
    post("pagerduty", pd_event(pd.raw_token, dedup_key="k", severity=severity))
    assert AlertGroup.objects.get().severity == expected


def test_integration_severity_map_overrides_the_default(post, make_integration, checkout):
    pd = make_integration("pagerduty", severity_map={"critical": "P0", "warning": "P2"})
    post("pagerduty", pd_event(pd.raw_token, dedup_key="a", severity="critical"))
    post("pagerduty", pd_event(pd.raw_token, dedup_key="b", severity="warning"))
    assert dict(AlertGroup.objects.values_list("dedup_key", "severity")) == {"a": "P0", "b": "P2"}


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda e: e.pop("event_action"), "'event_action' must be one of"),
        (lambda e: e.update(event_action="explode"), "'event_action' must be one of"),
        (lambda e: e.pop("payload"), "'payload' is missing"),
        (lambda e: e["payload"].pop("summary"), "'payload.summary' is missing"),
        (lambda e: e["payload"].update(summary="x" * 1025), "at most 1024"),
        (lambda e: e["payload"].update(severity="fatal"), "'payload.severity' must be one of"),
        (lambda e: e["payload"].pop("source"), "'payload.source' is missing"),
        (lambda e: e.update(dedup_key="k" * 256), "at most 255"),
        (lambda e: e.update(dedup_key=12), "'dedup_key' must be a non-empty string"),
        (lambda e: e["payload"].update(timestamp="yesterday"), "not an RFC 3339"),
        (lambda e: e.update(links="http://x"), "'links': must be a list"),
    ],
)
def test_invalid_events_get_pagerduty_shaped_400_and_nothing_is_stored(post, pd, mutate, message):
    event = pd_event(pd.raw_token, dedup_key="k")
    mutate(event)
    response = post("pagerduty", event)
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "invalid event"
    assert body["message"] == "Event object is invalid"
    assert any(message in error for error in body["errors"]), body
    assert RawEvent.objects.count() == 0


def test_resolve_without_dedup_key_is_invalid(post, pd):
    response = post("pagerduty", {"routing_key": pd.raw_token, "event_action": "resolve"})
    assert response.status_code == 400
    assert "'dedup_key' is required for event_action resolve" in response.json()["errors"]


@pytest.mark.parametrize("routing_key", ["opi_" + "0" * 32, "", None])
def test_unknown_or_missing_routing_key_is_a_400(post, pd, routing_key):
    event = pd_event("placeholder", dedup_key="k")
    event["routing_key"] = routing_key
    response = post("pagerduty", event)
    assert response.status_code == 400
    assert response.json()["status"] == "invalid event"
    assert RawEvent.objects.count() == 0


def test_an_alertmanager_token_is_not_a_routing_key(post, make_integration, pd):
    am = make_integration("alertmanager")
    response = post("pagerduty", pd_event(am.raw_token, dedup_key="k"))
    assert response.status_code == 400
    assert response.json()["errors"] == ["Invalid routing key"]
