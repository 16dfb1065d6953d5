"""/api/v1/alert-groups/, /api/v1/integrations/ and /api/v1/routing-rules/: roles and behaviour."""

import json

import pytest
from django.core.management import call_command

from alerts.models import AlertGroup, Integration, RoutingRule
from alerts.tokens import token_digest
from incidents.services import incident_declare

from .payloads import am_alert, am_payload

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "viewer", "responder", "commander", "admin"]


@pytest.fixture
def group(post, make_integration, checkout):
    am = make_integration(name="prom")
    post("alertmanager", am_payload(am_alert(severity="info")), am.raw_token)
    return AlertGroup.objects.get()


def _status(api_as, persona, method, url, data=None):
    client = api_as(persona)
    return getattr(client, method)(url, data, format="json").status_code


@pytest.mark.parametrize(
    ("persona", "expected"),
    list(zip(ROLES, [401, 200, 200, 200, 200], strict=True)),
    indirect=["persona"],
)
def test_alert_groups_are_readable_by_every_role(api_as, persona, expected, group):
    assert _status(api_as, persona, "get", "/api/v1/alert-groups/") == expected
    assert _status(api_as, persona, "get", f"/api/v1/alert-groups/{group.pk}/") == expected
    assert _status(api_as, persona, "get", f"/api/v1/alert-groups/{group.pk}/alerts/") == expected


@pytest.mark.parametrize(
    ("persona", "expected"),
    list(zip(ROLES, [401, 403, 200, 200, 200], strict=True)),
    indirect=["persona"],
)
def test_acknowledge_and_resolve_need_the_responder_role(api_as, persona, expected, group):
    url = f"/api/v1/alert-groups/{group.pk}/"
    assert _status(api_as, persona, "post", url + "acknowledge/") == expected
    assert _status(api_as, persona, "post", url + "resolve/") == expected


@pytest.mark.parametrize(
    ("persona", "expected"),
    list(zip(ROLES, [401, 403, 403, 200, 200], strict=True)),
    indirect=["persona"],
)
def test_linking_to_an_incident_needs_the_commander_role(
    api_as, persona, expected, group, commander
):
    incident = incident_declare(title="x", severity="P2", by=commander)
    url = f"/api/v1/alert-groups/{group.pk}/link/"
    assert _status(api_as, persona, "post", url, {"incident": incident.pk}) == expected


@pytest.mark.parametrize(
    ("persona", "expected"),
    list(zip(ROLES, [401, 403, 403, 403, 200], strict=True)),
    indirect=["persona"],
)
def test_integrations_and_rules_are_admin_only(api_as, persona, expected, group):
    assert _status(api_as, persona, "get", "/api/v1/integrations/") == expected
    assert _status(api_as, persona, "get", "/api/v1/routing-rules/") == expected
    created = 201 if expected == 200 else expected
    assert (
        _status(
            api_as,
            persona,
            "post",
            "/api/v1/integrations/",
            {"kind": "generic", "name": f"n-{expected}"},
        )
        == created
    )


def test_group_list_filters_and_shape(api_as, viewer, group):
    client = api_as(viewer)
    body = client.get("/api/v1/alert-groups/?status=open").json()
    assert body["count"] == 1
    item = body["results"][0]
    assert item["integration"] == {
        "id": group.integration_id,
        "name": "prom",
        "kind": "alertmanager",
    }
    assert item["service"] == "checkout" and item["status"] == "firing"
    assert client.get("/api/v1/alert-groups/?status=resolved").json()["count"] == 0
    assert client.get("/api/v1/alert-groups/?service=nope").json()["count"] == 0
    assert client.get("/api/v1/alert-groups/?q=checkout").json()["count"] == 1
    for huge in ("integration", "incident"):
        response = client.get(f"/api/v1/alert-groups/?{huge}=99999999999999999999")
        assert response.status_code == 400, huge  # not an OverflowError 500 on SQLite
    bad = client.get("/api/v1/alert-groups/?status=exploded")
    assert bad.status_code == 400 and bad.json()["type"] == "validation_error"


def test_group_list_query_count_does_not_grow(
    api_as, viewer, post, make_integration, checkout, django_assert_max_num_queries
):
    am = make_integration(name="many")
    client = api_as(viewer)
    post("alertmanager", am_payload(*[am_alert(f"A{i}") for i in range(3)]), am.raw_token)
    with django_assert_max_num_queries(6):
        client.get("/api/v1/alert-groups/")
    post("alertmanager", am_payload(*[am_alert(f"B{i}") for i in range(40)]), am.raw_token)
    with django_assert_max_num_queries(6):
        assert client.get("/api/v1/alert-groups/").json()["count"] == 43


def test_acknowledge_then_resolve_then_a_second_resolve_is_a_409(api_as, responder, group):
    client = api_as(responder)
    url = f"/api/v1/alert-groups/{group.pk}/"
    assert client.post(url + "acknowledge/").json()["status"] == "acknowledged"
    assert client.post(url + "resolve/").json()["status"] == "resolved"
    again = client.post(url + "resolve/")
    assert again.status_code == 409 and again.json()["type"] == "conflict"
    group.refresh_from_db()
    assert group.acknowledged_by == responder and group.resolved_by == responder


def test_link_puts_the_group_on_the_incident_timeline(api_as, commander, group):
    incident = incident_declare(title="Checkout down", severity="P1", by=commander)
    client = api_as(commander)
    body = client.post(
        f"/api/v1/alert-groups/{group.pk}/link/", {"incident": incident.pk}, format="json"
    ).json()
    assert body["incident"] == {"id": incident.pk, "ref": incident.ref}
    event = incident.events.filter(kind="alert").get()
    assert event.data["change"] == "linked" and event.author == commander


def test_link_to_a_missing_incident_is_a_400(api_as, commander, group):
    response = api_as(commander).post(
        f"/api/v1/alert-groups/{group.pk}/link/", {"incident": 999999}, format="json"
    )
    assert response.status_code == 400


def test_created_integration_shows_its_token_once(api_as, admin_user, checkout):
    client = api_as(admin_user)
    response = client.post(
        "/api/v1/integrations/",
        {
            "kind": "pagerduty",
            "name": "PD",
            "default_service": "checkout",
            "severity_map": {"critical": "P0"},
            "rate_limit_per_minute": 600,
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    token = body["token"]
    assert token.startswith("opi_") and len(token) == 36
    assert body["url"].endswith("/v2/enqueue") and token not in body["url"]
    integration = Integration.objects.get(pk=body["id"])
    assert integration.token_digest == token_digest(token)
    assert token not in json.dumps(client.get(f"/api/v1/integrations/{body['id']}/").json())
    assert "token" not in client.get("/api/v1/integrations/").json()["results"][0]


def test_rotate_and_disable_through_the_api(api_as, admin_user, post, make_integration):
    am = make_integration()
    client = api_as(admin_user)
    new = client.post(f"/api/v1/integrations/{am.pk}/rotate-token/").json()["token"]
    assert post("alertmanager", am_payload(), am.raw_token).status_code == 401
    assert post("alertmanager", am_payload(), new).status_code == 202
    assert (
        client.patch(f"/api/v1/integrations/{am.pk}/", {"enabled": False}, format="json").json()[
            "enabled"
        ]
        is False
    )
    assert post("alertmanager", am_payload(am_alert("x")), new).status_code == 403


@pytest.mark.parametrize(
    "payload",
    [
        {"kind": "smoke-signals", "name": "x"},
        {"kind": "generic", "name": ""},
        {"kind": "generic", "name": "x", "severity_map": {"critical": "P9"}},
        {"kind": "generic", "name": "x", "severity_map": ["P0"]},
        {"kind": "generic", "name": "x", "rate_limit_per_minute": -1},
        {"kind": "generic", "name": "x", "default_service": "no-such-service"},
    ],
)
def test_invalid_integrations_are_400(api_as, admin_user, payload):
    response = api_as(admin_user).post("/api/v1/integrations/", payload, format="json")
    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"


def test_kind_cannot_change(api_as, admin_user, make_integration):
    am = make_integration()
    response = api_as(admin_user).patch(
        f"/api/v1/integrations/{am.pk}/", {"kind": "grafana"}, format="json"
    )
    assert response.status_code == 400


def test_routing_rules_are_validated(api_as, admin_user, make_integration, checkout):
    am = make_integration()
    client = api_as(admin_user)
    good = {
        "integration": am.pk,
        "name": "payments team",
        "conditions": [
            {"field": "labels.team", "op": "equals", "value": "payments"},
            {"field": "labels.alertname", "op": "regex", "value": "^Disk"},
        ],
        "service": "checkout",
        "severity": "P1",
        "action": "open_incident",
    }
    assert client.post("/api/v1/routing-rules/", good, format="json").status_code == 201
    assert RoutingRule.objects.get().conditions[1]["op"] == "regex"
    for bad in (
        {"field": "labels.x", "op": "regex", "value": "(unclosed"},
        {"field": "nonsense", "op": "equals", "value": "x"},
        {"field": "labels.x", "op": "approximately", "value": "x"},
    ):
        response = client.post(
            "/api/v1/routing-rules/", {**good, "conditions": [bad]}, format="json"
        )
        assert response.status_code == 400, bad


def test_create_integration_command_prints_one_json_line(capsys, checkout):
    call_command("create_integration", "alertmanager", "Prometheus prod", "--service", "checkout")
    line = json.loads(capsys.readouterr().out.strip())
    assert set(line) == {"id", "kind", "name", "url", "token"}
    assert line["url"].endswith("/api/integrations/alertmanager/")
    integration = Integration.objects.get(pk=line["id"])
    assert integration.token_digest == token_digest(line["token"])
    assert integration.default_service == checkout


def test_create_integration_command_refuses_a_duplicate_name(checkout):
    from django.core.management.base import CommandError

    call_command("create_integration", "generic", "dup")
    with pytest.raises(CommandError):
        call_command("create_integration", "generic", "dup")
