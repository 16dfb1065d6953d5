"""/alerts/integrations/: admin-only pages, the token shown exactly once, rotation, disabling,
and routing rules managed from the integration page."""

from __future__ import annotations

import json
import time

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from alerts.integration_views import ISSUED_TOKEN_KEY, ISSUED_TOKEN_TTL_SECONDS
from alerts.models import AlertGroup, Integration, RoutingRule
from alerts.services import integration_rotate_token
from tests.alerts.payloads import am_alert, am_payload, generic_alert, pd_event

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "viewer", "responder", "commander", "admin"]
ADMIN_PAGE = dict(anonymous=302, viewer=403, responder=403, commander=403, admin=200)
ADMIN_ACTION = dict(anonymous=302, viewer=403, responder=403, commander=403, admin=302)


def _message(response) -> str:
    return [str(message) for message in get_messages(response.wsgi_request)][-1]


@pytest.fixture
def rule(prom):
    return RoutingRule.objects.create(integration=prom, position=0, name="first")


PAGES = {
    "integration-list": lambda i: reverse("alerts:integration-list"),
    "integration-create": lambda i: reverse("alerts:integration-create"),
    "integration-detail": lambda i: reverse("alerts:integration-detail", args=[i.pk]),
    "integration-rotate": lambda i: reverse("alerts:integration-rotate", args=[i.pk]),
}


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("persona", ROLES, indirect=True)
def test_integration_pages_are_admin_only(client, persona, prom, name, request):
    role = request.node.callspec.params["persona"]
    if persona is not None:
        client.force_login(persona)
    response = client.get(PAGES[name](prom))
    assert response.status_code == ADMIN_PAGE[role]
    if role == "anonymous":
        assert response["Location"].startswith(reverse("login"))


ACTIONS = {
    "integration-create": (
        lambda i, r: reverse("alerts:integration-create"),
        {
            "kind": "generic",
            "name": "new one",
            "default_severity": "P2",
            "rate_limit_per_minute": 0,
        },
    ),
    "integration-rotate": (lambda i, r: reverse("alerts:integration-rotate", args=[i.pk]), {}),
    "integration-toggle": (
        lambda i, r: reverse("alerts:integration-toggle", args=[i.pk]),
        {"enabled": "0"},
    ),
    "rule-create": (
        lambda i, r: reverse("alerts:rule-create", args=[i.pk]),
        {"name": "r", "conditions": "labels.team exists", "action": "auto"},
    ),
    "rule-move": (
        lambda i, r: reverse("alerts:rule-move", args=[i.pk, r.pk]),
        {"direction": "down"},
    ),
    "rule-delete": (lambda i, r: reverse("alerts:rule-delete", args=[i.pk, r.pk]), {}),
}


@pytest.mark.parametrize("name", ACTIONS)
@pytest.mark.parametrize("persona", ROLES, indirect=True)
def test_integration_actions_are_admin_only(client, persona, prom, rule, name, request):
    url_of, data = ACTIONS[name]
    role = request.node.callspec.params["persona"]
    before = (
        Integration.objects.count(),
        RoutingRule.objects.count(),
        Integration.objects.get(pk=prom.pk).token_digest,
        Integration.objects.get(pk=prom.pk).enabled,
    )
    if persona is not None:
        client.force_login(persona)
    response = client.post(url_of(prom, rule), data)
    assert response.status_code == ADMIN_ACTION[role], response.content[:500]
    if role == "anonymous":
        assert response["Location"].startswith(reverse("login"))
    if role != "admin":
        after = (
            Integration.objects.count(),
            RoutingRule.objects.count(),
            Integration.objects.get(pk=prom.pk).token_digest,
            Integration.objects.get(pk=prom.pk).enabled,
        )
        assert after == before  # nothing changed


def test_alert_list_links_to_integrations_for_admins_only(client, viewer, admin_user):
    client.force_login(viewer)
    assert (
        reverse("alerts:integration-list")
        not in client.get(reverse("alerts:list")).content.decode()
    )
    client.force_login(admin_user)
    assert reverse("alerts:integration-list") in client.get(reverse("alerts:list")).content.decode()


# --- Creating, and the token shown once --------------------------------------------------------


def _create(client, **fields):
    data = {
        "kind": "alertmanager",
        "name": "Prometheus EU",
        "default_severity": "P2",
        "rate_limit_per_minute": "0",
        **fields,
    }
    return client.post(reverse("alerts:integration-create"), data)


def _ingest_status(kind: str, token: str) -> int:
    """Deliver one alert with the token, from outside any session."""
    outsider = Client()
    if kind == "pagerduty":
        body, headers = pd_event(token), {}
    elif kind == "generic":
        body, headers = generic_alert("probe"), {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    else:
        body, headers = am_payload(am_alert()), {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    path = reverse(f"alerts-ingest-{kind}")
    return outsider.post(
        path, json.dumps(body), content_type="application/json", **headers
    ).status_code


def test_admin_creates_an_integration_and_sees_its_token_exactly_once(client, admin_user, checkout):
    client.force_login(admin_user)
    response = _create(
        client,
        default_service=checkout.pk,
        default_severity="P3",
        rate_limit_per_minute="120",
        auto_resolve_incidents="on",
        severity_critical="P0",
        severity_info="P3",
    )
    integration = Integration.objects.get()
    detail = reverse("alerts:integration-detail", args=[integration.pk])
    assert response.status_code == 302 and response["Location"] == detail
    assert integration.created_by == admin_user
    assert (integration.default_service, integration.default_severity) == (checkout, "P3")
    assert integration.rate_limit_per_minute == 120 and integration.auto_resolve_incidents
    assert integration.severity_map == {"critical": "P0", "info": "P3"}

    first = client.get(detail)
    html = first.content.decode()
    token = html.split('id="integration-token">')[1].split("<")[0]
    assert token.startswith(integration.token_prefix) and len(token) > 20
    assert "no-store" in first["Cache-Control"]
    assert "It is shown only this once" in html
    assert f"credentials: &quot;{token}&quot;" in html  # the snippet carries it this once
    assert ISSUED_TOKEN_KEY not in client.session  # dropped from the session on display
    assert _ingest_status("alertmanager", token) == 202

    second = client.get(detail).content.decode()
    assert token not in second and "integration-token" not in second
    assert f"{integration.token_prefix}…" in second and "&lt;TOKEN&gt;" in second
    assert token not in client.get(reverse("alerts:integration-list")).content.decode()


def test_the_token_is_never_part_of_a_url(client, admin_user):
    client.force_login(admin_user)
    created = _create(client)
    integration = Integration.objects.get()
    token = client.session[ISSUED_TOKEN_KEY]["token"]
    assert token not in created["Location"]
    rotated = client.post(reverse("alerts:integration-rotate", args=[integration.pk]))
    assert client.session[ISSUED_TOKEN_KEY]["token"] not in rotated["Location"]
    html = client.get(rotated["Location"]).content.decode()
    assert 'href="' + reverse("alerts:integration-detail", args=[integration.pk]) in html
    new_token = html.split('id="integration-token">')[1].split("<")[0]
    for href in html.split('href="')[1:]:
        assert new_token not in href.split('"')[0]


def test_an_undisplayed_token_expires_from_the_session(client, admin_user):
    client.force_login(admin_user)
    _create(client)
    session = client.session
    pending = session[ISSUED_TOKEN_KEY]
    pending["at"] = time.time() - ISSUED_TOKEN_TTL_SECONDS - 1
    session[ISSUED_TOKEN_KEY] = pending
    session.save()
    html = client.get(reverse("alerts:integration-detail", args=[pending["integration"]]))
    assert pending["token"] not in html.content.decode()
    assert ISSUED_TOKEN_KEY not in client.session


def test_a_token_rotated_again_elsewhere_is_not_shown(client, admin_user):
    client.force_login(admin_user)
    _create(client)
    integration = Integration.objects.get()
    stale = client.session[ISSUED_TOKEN_KEY]["token"]
    integration_rotate_token(integration=integration)  # another admin, meanwhile
    html = client.get(reverse("alerts:integration-detail", args=[integration.pk])).content.decode()
    assert stale not in html and "integration-token" not in html


def test_a_pending_token_is_not_shown_on_another_integrations_page(client, admin_user, prom):
    client.force_login(admin_user)
    _create(client, name="Fresh")
    token = client.session[ISSUED_TOKEN_KEY]["token"]
    html = client.get(reverse("alerts:integration-detail", args=[prom.pk])).content.decode()
    assert token not in html


def test_create_form_errors_keep_the_page(client, admin_user, prom):
    client.force_login(admin_user)
    response = _create(client, name=prom.name, rate_limit_per_minute="-1", kind="smtp")
    assert response.status_code == 400
    html = response.content.decode()
    assert "An integration with this name exists." in html
    assert Integration.objects.count() == 1 and ISSUED_TOKEN_KEY not in client.session


def test_rotating_needs_a_confirmation_and_shows_the_new_token_once(client, admin_user, prom):
    client.force_login(admin_user)
    confirm = client.get(reverse("alerts:integration-rotate", args=[prom.pk])).content.decode()
    assert "stops working at once" in confirm and 'method="post"' in confirm
    assert Integration.objects.get(pk=prom.pk).token_digest == prom.token_digest  # GET: no change
    response = client.post(reverse("alerts:integration-rotate", args=[prom.pk]), follow=True)
    html = response.content.decode()
    assert "The old token no longer works." in html
    new_token = html.split('id="integration-token">')[1].split("<")[0]
    assert _ingest_status("alertmanager", prom.raw_token) == 401
    assert _ingest_status("alertmanager", new_token) == 202
    assert (
        new_token
        not in client.get(reverse("alerts:integration-detail", args=[prom.pk])).content.decode()
    )


def test_disable_and_enable_from_the_page(client, admin_user, prom):
    client.force_login(admin_user)
    toggle = reverse("alerts:integration-toggle", args=[prom.pk])
    response = client.post(toggle, {"enabled": "0"})
    assert "refused with 403" in _message(response)
    assert not Integration.objects.get(pk=prom.pk).enabled
    assert _ingest_status("alertmanager", prom.raw_token) == 403
    html = client.get(reverse("alerts:integration-detail", args=[prom.pk])).content.decode()
    assert "disabled" in html and ">Enable</button>" in html
    assert _message(client.post(toggle, {"enabled": "0"})) == "Already disabled."
    client.post(toggle, {"enabled": "1"})
    assert Integration.objects.get(pk=prom.pk).enabled
    assert _ingest_status("alertmanager", prom.raw_token) == 202


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("alertmanager", ["webhook_configs:", "authorization:", "type: Bearer", "credentials:"]),
        ("pagerduty", ["curl", "routing_key", "event_action", "/v2/enqueue"]),
        ("grafana", ["contactPoints:", "type: webhook", "authorization_scheme: Bearer"]),
        ("generic", ["curl", "Authorization: Bearer", "/api/integrations/generic/"]),
    ],
)
def test_detail_shows_the_endpoint_and_a_snippet_per_kind(
    client, admin_user, make_integration, kind, expected, settings
):
    integration = make_integration(kind, name=f"{kind} one")
    client.force_login(admin_user)
    html = client.get(reverse("alerts:integration-detail", args=[integration.pk])).content.decode()
    url = settings.PUBLIC_BASE_URL + reverse(f"alerts-ingest-{kind}")
    assert f'<code id="endpoint-url">{url}</code>' in html
    for fragment in expected:
        assert fragment in html
    assert integration.raw_token not in html  # not created through this session: never shown


def test_integration_list_shows_counts_without_tokens(client, admin_user, group, prom, hooks):
    client.force_login(admin_user)
    html = client.get(reverse("alerts:integration-list")).content.decode()
    assert "Prometheus prod" in html and "Deploy hooks" in html
    assert f"<code>{prom.token_prefix}…</code>" in html
    assert prom.raw_token not in html and hooks.raw_token not in html
    assert f'href="{reverse("alerts:list")}?integration={prom.pk}">1</a>' in html


def test_integration_list_query_count_does_not_grow(
    client, admin_user, make_integration, send, django_assert_max_num_queries
):
    make_integration("generic", name="first")
    client.force_login(admin_user)
    with django_assert_max_num_queries(15) as small:
        client.get(reverse("alerts:integration-list"))
    baseline = len(small.captured_queries)
    for n in range(12):
        integration = make_integration("generic", name=f"more {n}")
        send(integration, generic_alert(f"k{n}"))
    with django_assert_max_num_queries(baseline):
        client.get(reverse("alerts:integration-list"))


# --- Who never sees a token ---------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["viewer", "responder", "commander"], indirect=True)
def test_non_admins_never_see_a_token_or_its_prefix(client, persona, admin_user, group, prom):
    """Even right after an admin created or rotated one (the token lives in the admin's
    session only)."""
    admin = Client()
    admin.force_login(admin_user)
    admin.post(
        reverse("alerts:integration-create"),
        {"kind": "generic", "name": "fresh", "default_severity": "P2", "rate_limit_per_minute": 0},
    )
    fresh_token = admin.session[ISSUED_TOKEN_KEY]["token"]
    client.force_login(persona)
    pages = [
        reverse("alerts:list"),
        reverse("alerts:list") + "?status=all",
        reverse("alerts:detail", args=[group.pk]),
        reverse("incidents:detail", args=[group.incident.number]),
        reverse("alerts:integration-list"),
        reverse("alerts:integration-detail", args=[prom.pk]),
        reverse("alerts:integration-detail", args=[Integration.objects.get(name="fresh").pk]),
    ]
    for page in pages:
        html = client.get(page).content.decode()
        for secret in (prom.raw_token, fresh_token, prom.token_prefix):
            assert secret not in html, page


# --- Routing rules ---------------------------------------------------------------------------


def _add_rule(client, integration, **fields):
    data = {"name": "Checkout pages", "conditions": "", "action": "auto", **fields}
    return client.post(reverse("alerts:rule-create", args=[integration.pk]), data)


def test_admin_adds_a_rule_that_routes_the_next_alert(client, admin_user, prom, send, checkout):
    client.force_login(admin_user)
    response = _add_rule(
        client,
        prom,
        conditions="labels.service equals checkout\nlabels.alertname regex ^Disk\n\nlabels.team exists",
        service=checkout.pk,
        severity="P0",
        symptom="service_unavailable",
        action="open_incident",
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#rules")
    rule = RoutingRule.objects.get()
    assert rule.integration == prom and rule.position == 0
    assert rule.conditions == [
        {"field": "labels.service", "op": "equals", "value": "checkout"},
        {"field": "labels.alertname", "op": "regex", "value": "^Disk"},
        {"field": "labels.team", "op": "exists", "value": ""},
    ]
    html = client.get(reverse("alerts:integration-detail", args=[prom.pk])).content.decode()
    assert "labels.alertname regex ^Disk" in html and "Checkout pages" in html

    send(prom, am_payload(am_alert("DiskFull", service="checkout", severity="info", team="db")))
    group = AlertGroup.objects.get()
    assert (group.rule, group.severity, group.action) == (rule, "P0", "open_incident")
    assert group.incident is not None and group.incident.severity == "P0"


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ("labels.alertname regex ^(Disk", "invalid regex"),
        ("labels.team frobnicates x", "unknown op"),
        ("labels.team exists yes", "takes no value"),
        ("labels.team equals", "needs a value"),
        ("service", "write “&lt;field&gt; &lt;op&gt; &lt;value&gt;”"),
        ("nonsense.field equals x", "Line 1: field"),
    ],
)
def test_invalid_conditions_are_reported_on_the_page(client, admin_user, prom, conditions, message):
    client.force_login(admin_user)
    response = _add_rule(client, prom, conditions=conditions)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert '<details class="add-rule" open>' in html  # the form stays open with the input
    assert not RoutingRule.objects.exists()


def test_rules_move_up_and_down_and_delete(client, admin_user, prom):
    client.force_login(admin_user)
    for name in ("alpha", "beta", "gamma"):
        _add_rule(client, prom, name=name)

    def order():
        return list(RoutingRule.objects.order_by("position", "pk").values_list("name", flat=True))

    assert order() == ["alpha", "beta", "gamma"]
    gamma = RoutingRule.objects.get(name="gamma")
    move = reverse("alerts:rule-move", args=[prom.pk, gamma.pk])
    client.post(move, {"direction": "up"})
    assert order() == ["alpha", "gamma", "beta"]
    client.post(move, {"direction": "up"})
    client.post(move, {"direction": "up"})  # already first: stays
    assert order() == ["gamma", "alpha", "beta"]
    client.post(reverse("alerts:rule-move", args=[prom.pk, gamma.pk]), {"direction": "down"})
    assert order() == ["alpha", "gamma", "beta"]
    bad = client.post(move, {"direction": "sideways"})
    assert _message(bad) == "Move a rule up or down."
    client.post(reverse("alerts:rule-delete", args=[prom.pk, gamma.pk]))
    assert order() == ["alpha", "beta"]
    html = client.get(reverse("alerts:integration-detail", args=[prom.pk])).content.decode()
    assert html.index("alpha") < html.index("beta")


def test_another_integrations_rule_is_404(client, admin_user, prom, hooks):
    foreign = RoutingRule.objects.create(integration=hooks, name="theirs")
    client.force_login(admin_user)
    for action in ("rule-delete", "rule-move"):
        response = client.post(
            reverse(f"alerts:{action}", args=[prom.pk, foreign.pk]), {"direction": "up"}
        )
        assert response.status_code == 404
    assert RoutingRule.objects.filter(pk=foreign.pk).exists()


def test_global_rules_are_listed_read_only(client, admin_user, prom):
    RoutingRule.objects.create(
        integration=None,
        name="Everything from staging",
        conditions=[{"field": "labels.env", "op": "equals", "value": "staging"}],
        action="record",
    )
    client.force_login(admin_user)
    html = client.get(reverse("alerts:integration-detail", args=[prom.pk])).content.decode()
    assert "Global rules" in html and "labels.env equals staging" in html
