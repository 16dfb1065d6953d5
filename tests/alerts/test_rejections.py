"""Bad input never reaches the database: each case gets the right 4xx and a machine-readable
body, and nothing is stored."""

import json

import pytest

from alerts.models import AlertGroup, RawEvent
from alerts.services import integration_rotate_token, integration_set_enabled

from .payloads import am_alert, am_payload

pytestmark = pytest.mark.django_db

PATH = "/api/integrations/alertmanager/"


def _alert_with(**changes):
    alert = am_alert()
    alert.update(changes)
    return am_payload(alert)


def _alert_without(field):
    alert = am_alert()
    alert.pop(field)
    return am_payload(alert)


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ([1, 2], "body: must be a JSON object"),
        ({"version": "4"}, "alerts: required"),
        ({"alerts": "many"}, "alerts: required"),
        ({"alerts": [1]}, "alerts[0]: must be an object"),
        (_alert_with(status="burning"), "alerts[0].status"),
        (_alert_without("labels"), "alerts[0].labels: required"),
        (_alert_with(labels={}), "alerts[0].labels: must not be empty"),
        (_alert_with(labels={"severity": 3}), "alerts[0].labels: values must be strings"),
        (_alert_with(annotations=["x"]), "alerts[0].annotations: must be an object"),
        (_alert_without("startsAt"), "alerts[0].startsAt: required"),
        (_alert_with(startsAt="yesterday"), "alerts[0].startsAt"),
        (_alert_with(startsAt="2026-13-45T00:00:00Z"), "alerts[0].startsAt"),
        (_alert_with(fingerprint=7), "alerts[0].fingerprint: must be a string"),
        (_alert_with(fingerprint="f" * 256), "alerts[0].fingerprint: longer than 255"),
        (_alert_with(generatorURL={"u": 1}), "alerts[0].generatorURL"),
        ({"alerts": [am_alert()] * 1001}, "alerts: at most 1000"),
        ({**am_payload(), "groupKey": 5}, "groupKey: must be a string"),
    ],
)
def test_invalid_payloads_get_400_with_every_problem(post, make_integration, payload, error):
    integration = make_integration()
    response = post("alertmanager", payload, integration.raw_token)
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "invalid_payload" and body["detail"]
    assert any(e.startswith(error) for e in body["errors"]), body
    assert RawEvent.objects.count() == 0


def test_all_problems_of_a_batch_are_reported_together(post, make_integration):
    integration = make_integration()
    bad = am_payload(am_alert(), {**am_alert(), "status": "x"}, {**am_alert(), "labels": None})
    body = post("alertmanager", bad, integration.raw_token).json()
    assert len(body["errors"]) == 2 and body["errors"][0].startswith("alerts[1]")


def test_bad_json_is_a_400(post, make_integration):
    integration = make_integration()
    response = post("alertmanager", None, integration.raw_token, raw='{"alerts": [')
    assert response.status_code == 400
    assert response.json()["type"] == "invalid_json"


def test_deeply_nested_json_is_a_400_not_a_crash(post, make_integration):
    integration = make_integration()
    response = post("alertmanager", None, integration.raw_token, raw="[" * 100_000)
    assert response.status_code == 400


def test_invalid_utf8_is_a_400(post, make_integration):
    integration = make_integration()
    response = post("alertmanager", None, integration.raw_token, raw=b'{"alerts": "\xff"}')
    assert response.status_code == 400


def test_body_over_512_kib_is_a_413(post, make_integration):
    integration = make_integration()
    big = am_payload(am_alert(summary="x" * (600 * 1024)))
    response = post("alertmanager", big, integration.raw_token)
    assert response.status_code == 413
    assert response.json()["type"] == "payload_too_large"
    assert RawEvent.objects.count() == 0


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_wrong_content_type_is_a_415(post, make_integration, content_type):
    integration = make_integration()
    response = post("alertmanager", am_payload(), integration.raw_token, content_type=content_type)
    assert response.status_code == 415
    assert response.json()["type"] == "unsupported_media_type"


def test_json_with_charset_is_fine(post, make_integration):
    integration = make_integration()
    response = post(
        "alertmanager",
        am_payload(),
        integration.raw_token,
        content_type="application/json; charset=utf-8",
    )
    assert response.status_code == 202


@pytest.mark.parametrize(
    "authorization",
    [None, "Basic dXNlcjpwYXNz", "Bearer", "Bearer opi_" + "0" * 32, "Token x"],
)
def test_missing_or_wrong_token_is_a_401(client, make_integration, authorization):
    make_integration()
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = client.post(PATH, json.dumps(am_payload()), content_type="application/json", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["type"] in {"not_authenticated", "authentication_failed"}
    assert RawEvent.objects.count() == 0


def test_a_signed_in_session_is_not_an_integration_token(client, make_integration, admin_user):
    make_integration()
    client.force_login(admin_user)
    response = client.post(PATH, json.dumps(am_payload()), content_type="application/json")
    assert response.status_code == 401
    assert RawEvent.objects.count() == 0


def test_a_user_api_token_is_not_an_integration_token(client, make_integration, admin_user):
    from accounts.services import api_token_create

    make_integration()
    raw = api_token_create(user=admin_user, name="t").raw
    response = client.post(
        PATH,
        json.dumps(am_payload()),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 401


def test_a_token_of_another_kind_is_refused(post, make_integration):
    grafana = make_integration("grafana")
    assert post("alertmanager", am_payload(), grafana.raw_token).status_code == 401


def test_disabled_integration_is_a_403(post, make_integration):
    integration = make_integration()
    integration_set_enabled(integration=integration, enabled=False)
    response = post("alertmanager", am_payload(), integration.raw_token)
    assert response.status_code == 403
    assert response.json()["type"] == "integration_disabled"
    assert RawEvent.objects.count() == 0
    integration_set_enabled(integration=integration, enabled=True)
    assert post("alertmanager", am_payload(), integration.raw_token).status_code == 202


def test_rotated_token_stops_working_at_once(post, make_integration):
    integration = make_integration()
    old = integration.raw_token
    new = integration_rotate_token(integration=integration).token
    assert post("alertmanager", am_payload(), old).status_code == 401
    assert post("alertmanager", am_payload(), new).status_code == 202


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_other_methods_are_405(client, make_integration, method):
    make_integration()
    response = getattr(client, method)(PATH)
    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_nothing_is_grouped_from_rejected_requests(post, make_integration):
    integration = make_integration()
    post("alertmanager", _alert_with(status="x"), integration.raw_token)
    post("alertmanager", am_payload(), "wrong")
    assert AlertGroup.objects.count() == 0


def test_utf16_body_is_a_400_not_a_crash(post, make_integration):
    integration = make_integration()
    raw = json.dumps(am_payload()).encode("utf-16")
    assert post("alertmanager", None, integration.raw_token, raw=raw).status_code == 400


def test_starts_at_overflowing_the_calendar_is_a_400(post, make_integration):
    integration = make_integration()
    response = post(
        "alertmanager", _alert_with(startsAt="9999-12-31T23:59:59-23:59"), integration.raw_token
    )
    assert response.status_code == 400


@pytest.mark.parametrize("text", ["nul \u0000 inside", "lone \ud800 surrogate"])
def test_text_the_database_cannot_store_is_cleaned_not_fatal(post, make_integration, text):
    """NUL and lone surrogates are valid JSON escapes but not storable text in PostgreSQL; left
    in, they would fail the worker's whole batch after the 202."""
    integration = make_integration()
    alert = am_alert(summary=text, severity="info")
    alert["labels"]["note"] = text
    response = post("alertmanager", am_payload(alert), integration.raw_token)
    assert response.status_code == 202
    group = AlertGroup.objects.get()
    assert "\u0000" not in group.title and "\ud800" not in group.labels["note"]


def test_a_very_long_starts_at_fraction_is_still_one_fixed_width_event_key(post, make_integration):
    integration = make_integration()
    alert = am_alert(severity="info", startsAt="2026-11-29T00:00:00." + "1" * 500 + "Z")
    assert post("alertmanager", am_payload(alert), integration.raw_token).status_code == 202
    assert post("alertmanager", am_payload(alert), integration.raw_token).status_code == 202
    assert AlertGroup.objects.get().alert_count == 1
