"""Who may do what: every page and endpoint of the foundation, for every role.

Anonymous page requests are redirected to the login page (302); anonymous API requests get 401.
"""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from accounts.permissions import Role
from tests.factories import ServiceFactory, TargetFactory

ROLES = ["anonymous", "viewer", "responder", "commander", "admin"]


def _expect(row: dict[str, int]) -> list[tuple[str, int]]:
    return [(role, row[role]) for role in ROLES]


PAGE_MATRIX = {
    # name: {role: status}
    "catalog:service-list": dict(
        anonymous=302, viewer=200, responder=200, commander=200, admin=200
    ),
    "catalog:service-detail": dict(
        anonymous=302, viewer=200, responder=200, commander=200, admin=200
    ),
    "profile": dict(anonymous=302, viewer=200, responder=200, commander=200, admin=200),
    "admin:index": dict(anonymous=302, viewer=302, responder=302, commander=302, admin=200),
    "api-docs": dict(anonymous=302, viewer=200, responder=200, commander=200, admin=200),
    "api-schema": dict(anonymous=401, viewer=200, responder=200, commander=200, admin=200),
    # Alerts: every role reads groups; integrations (and their tokens) are the admin's.
    # Per-group and per-integration pages and actions: tests/alerts_web.
    "alerts:list": dict(anonymous=302, viewer=200, responder=200, commander=200, admin=200),
    "alerts:integration-list": dict(
        anonymous=302, viewer=403, responder=403, commander=403, admin=200
    ),
    "alerts:integration-create": dict(
        anonymous=302, viewer=403, responder=403, commander=403, admin=200
    ),
    # Diagnostics: every role reads; runbooks are edited by commanders. Per-incident, per-run
    # pages and the start/re-run actions: tests/diagnostics_web.
    "diagnostics:list": dict(anonymous=302, viewer=200, responder=200, commander=200, admin=200),
    "diagnostics:probes": dict(anonymous=302, viewer=200, responder=200, commander=200, admin=200),
    "diagnostics:runbooks": dict(
        anonymous=302, viewer=200, responder=200, commander=200, admin=200
    ),
    "diagnostics:runbook_new": dict(
        anonymous=302, viewer=403, responder=403, commander=200, admin=200
    ),
    # Maintenance: every role reads; commanders plan. Per-window pages and actions:
    # tests/maintenance_web.
    "maintenance:list": dict(anonymous=302, viewer=200, responder=200, commander=200, admin=200),
    "maintenance:new": dict(anonymous=302, viewer=403, responder=403, commander=200, admin=200),
    "maintenance:template-list": dict(
        anonymous=302, viewer=200, responder=200, commander=200, admin=200
    ),
    "maintenance:template-new": dict(
        anonymous=302, viewer=403, responder=403, commander=200, admin=200
    ),
    "maintenance:backup-list": dict(
        anonymous=302, viewer=200, responder=200, commander=200, admin=200
    ),
    # Postmortems: every role reads; writing and publishing: tests/postmortems_web.
    "postmortems:list": dict(anonymous=302, viewer=200, responder=200, commander=200, admin=200),
    "postmortems:action-items": dict(
        anonymous=302, viewer=200, responder=200, commander=200, admin=200
    ),
    # Status page administration: admins only.
    "statuspage:settings": dict(anonymous=302, viewer=403, responder=403, commander=403, admin=200),
    "statuspage:subscribers-admin": dict(
        anonymous=302, viewer=403, responder=403, commander=403, admin=200
    ),
    "insights:dashboard": dict(anonymous=302, viewer=200, responder=200, commander=200, admin=200),
    # The public status page: everyone, signed in or not.
    "statuspage:home": dict(anonymous=200, viewer=200, responder=200, commander=200, admin=200),
}


def _page_url(name: str, service) -> str:
    if name == "catalog:service-detail":
        return reverse(name, args=[service.slug])
    return reverse(name)


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGE_MATRIX)
@pytest.mark.parametrize("persona", ROLES, indirect=True)
def test_page_access_by_role(client, persona, name, request):
    service = ServiceFactory()
    if persona is not None:
        client.force_login(persona)
    response = client.get(_page_url(name, service))
    role = request.node.callspec.params["persona"]
    assert response.status_code == PAGE_MATRIX[name][role]


# Remediation pages of an incident (issue 6): every role reads an action and the incident's
# list; previewing is for responders and up (REMEDIATION_REQUEST). Confirming, approving and
# rejecting (commanders, POST only) and the flows themselves: tests/diagnostics_web/test_actions.py.
ACTION_PAGE_MATRIX = {
    "diagnostics:incident_actions": dict(
        anonymous=302, viewer=200, responder=200, commander=200, admin=200
    ),
    "diagnostics:action": dict(anonymous=302, viewer=200, responder=200, commander=200, admin=200),
    "diagnostics:action_new": dict(
        anonymous=302, viewer=403, responder=200, commander=200, admin=200
    ),
}
ACTION_POST_MATRIX = {
    "diagnostics:action_confirm": dict(
        anonymous=302, viewer=403, responder=403, commander=302, admin=302
    ),
    "diagnostics:action_approve": dict(
        anonymous=302, viewer=403, responder=403, commander=302, admin=302
    ),
    "diagnostics:action_reject": dict(
        anonymous=302, viewer=403, responder=403, commander=302, admin=302
    ),
}


def _action_request(make_user):
    """An incident with one recorded action request (no action plug-in needed to show it)."""
    from diagnostics.models import ActionRequest, ActionState
    from incidents.services import incident_declare

    commander = make_user(Role.COMMANDER, username="matrix-commander")
    target = TargetFactory()
    incident = incident_declare(
        title="Matrix", severity="P3", by=commander, commander=commander, services=[target.service]
    )
    return ActionRequest.objects.create(
        key=uuid.uuid4(),
        incident=incident,
        action="kubernetes.scale",
        target=target,
        target_label=str(target),
        state=ActionState.REQUESTED,
        previewed_by=commander,
        requested_by=commander,
    )


def _action_url(name: str, found) -> str:
    if name in ("diagnostics:incident_actions", "diagnostics:action_new"):
        return reverse(name, args=[found.incident.number])
    return reverse(name, args=[found.pk])


@pytest.mark.django_db
@pytest.mark.parametrize("name", ACTION_PAGE_MATRIX)
@pytest.mark.parametrize("persona", ROLES, indirect=True)
def test_action_page_access_by_role(client, persona, make_user, name, request):
    found = _action_request(make_user)
    if persona is not None:
        client.force_login(persona)
    response = client.get(_action_url(name, found))
    role = request.node.callspec.params["persona"]
    assert response.status_code == ACTION_PAGE_MATRIX[name][role]


@pytest.mark.django_db
@pytest.mark.parametrize("name", ACTION_POST_MATRIX)
@pytest.mark.parametrize("persona", ROLES, indirect=True)
def test_action_post_access_by_role(client, persona, make_user, name, request):
    found = _action_request(make_user)
    if persona is not None:
        client.force_login(persona)
    response = client.post(_action_url(name, found), {"token": "x", "reason": "matrix"})
    role = request.node.callspec.params["persona"]
    assert response.status_code == ACTION_POST_MATRIX[name][role]


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ROLES, indirect=True)
def test_login_page_is_public_and_health_is_open(client, persona):
    if persona is not None:
        client.force_login(persona)
        assert client.get(reverse("login")).status_code == 302  # already signed in
    else:
        assert client.get(reverse("login")).status_code == 200
    assert client.get("/health").status_code == 200


@pytest.mark.django_db
def test_user_without_role_is_forbidden_everywhere(client, make_user, api_as):
    nobody = make_user(None, username="norole")
    client.force_login(nobody)
    assert client.get(reverse("catalog:service-list")).status_code == 403
    assert client.get(reverse("profile")).status_code == 403
    assert api_as(nobody).get("/api/v1/services/").status_code == 403


READ = dict(anonymous=401, viewer=200, responder=200, commander=200, admin=200)
WRITE_CREATE = dict(anonymous=401, viewer=403, responder=403, commander=403, admin=201)
WRITE_UPDATE = dict(anonymous=401, viewer=403, responder=403, commander=403, admin=200)
WRITE_DELETE = dict(anonymous=401, viewer=403, responder=403, commander=403, admin=204)
OWN = dict(anonymous=401, viewer=200, responder=200, commander=200, admin=200)
OWN_CREATE = dict(anonymous=401, viewer=201, responder=201, commander=201, admin=201)


def _service_payload(n):
    return {"name": f"New service {n}", "slug": f"new-service-{n}"}


def _target_payload(service):
    return {
        "service": service.pk,
        "name": "health",
        "kind": "http",
        "config": {"url": "https://example.com/health"},
    }


API_MATRIX = [
    ("get", "/api/v1/services/", None, READ),
    ("get", "/api/v1/services/{service}/", None, READ),
    ("post", "/api/v1/services/", "service", WRITE_CREATE),
    ("patch", "/api/v1/services/{service}/", {"description": "changed"}, WRITE_UPDATE),
    ("delete", "/api/v1/services/{service}/", None, WRITE_DELETE),
    ("get", "/api/v1/service-groups/", None, READ),
    ("post", "/api/v1/service-groups/", {"name": "Edge", "slug": "edge"}, WRITE_CREATE),
    ("get", "/api/v1/targets/", None, READ),
    ("get", "/api/v1/targets/{target}/", None, READ),
    ("post", "/api/v1/targets/", "target", WRITE_CREATE),
    ("patch", "/api/v1/targets/{target}/", {"enabled": False}, WRITE_UPDATE),
    ("delete", "/api/v1/targets/{target}/", None, WRITE_DELETE),
    ("get", "/api/v1/me/", None, OWN),
    ("get", "/api/v1/tokens/", None, OWN),
    ("post", "/api/v1/tokens/", {"name": "ci"}, OWN_CREATE),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "body", "expected"), API_MATRIX, ids=lambda v: str(v)[:40]
)
@pytest.mark.parametrize("persona", ROLES, indirect=True)
def test_api_access_by_role(api_as, persona, method, path, body, expected, request):
    target = TargetFactory()
    service = target.service
    url = path.format(service=service.pk, target=target.pk)
    if body == "service":
        body = _service_payload(1)
    elif body == "target":
        body = _target_payload(ServiceFactory())
    response = getattr(api_as(persona), method)(url, body, format="json")
    role = request.node.callspec.params["persona"]
    assert response.status_code == expected[role], response.content
