"""Request replay (Idempotency-Key) is separate from alert dedup (fingerprint / dedup_key)."""

import pytest

from alerts.models import Alert, RawEvent

from .payloads import am_alert, am_payload, generic_alert, pd_event

pytestmark = pytest.mark.django_db


def test_same_delivery_three_times_is_stored_once(post, make_integration, checkout):
    integration = make_integration()
    payload = am_payload(am_alert("A"), am_alert("B"))
    replies = [post("alertmanager", payload, integration.raw_token) for _ in range(3)]
    assert [r.status_code for r in replies] == [202, 202, 202]
    assert [r.has_header("Idempotent-Replayed") for r in replies] == [False, True, True]
    assert RawEvent.objects.count() == 1 and Alert.objects.count() == 2


def test_idempotency_key_replays_the_first_answer(post, make_integration):
    pd = make_integration("pagerduty")
    headers = {"Idempotency-Key": "req-42"}
    first = post("pagerduty", pd_event(pd.raw_token), headers=headers)
    second = post("pagerduty", pd_event(pd.raw_token), headers=headers)
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert RawEvent.objects.count() == 1


def test_idempotency_key_reused_with_another_body_is_a_422(post, make_integration):
    generic = make_integration("generic")
    headers = {"Idempotency-Key": "req-1"}
    assert (
        post("generic", generic_alert("a"), generic.raw_token, headers=headers).status_code == 202
    )
    response = post("generic", generic_alert("b"), generic.raw_token, headers=headers)
    assert response.status_code == 422
    assert response.json()["type"] == "idempotency_key_reused"
    assert RawEvent.objects.count() == 1


def test_idempotency_key_longer_than_255_is_a_400(post, make_integration):
    generic = make_integration("generic")
    response = post(
        "generic", generic_alert(), generic.raw_token, headers={"Idempotency-Key": "k" * 256}
    )
    assert response.status_code == 400
    assert RawEvent.objects.count() == 0


def test_retried_pagerduty_trigger_without_key_is_one_alert(post, make_integration):
    pd = make_integration("pagerduty")
    for _ in range(3):
        post("pagerduty", pd_event(pd.raw_token, dedup_key="k"))
    assert Alert.objects.count() == 1


def test_same_body_after_resolve_is_a_new_event(post, make_integration):
    """Replay detection must not swallow a real re-trigger that happens to look the same."""
    pd = make_integration("pagerduty")
    post("pagerduty", pd_event(pd.raw_token, dedup_key="k", severity="info"))
    post("pagerduty", pd_event(pd.raw_token, "resolve", dedup_key="k"))
    post("pagerduty", pd_event(pd.raw_token, dedup_key="k", severity="info"))
    assert Alert.objects.filter(action="trigger").count() == 2
