"""API tokens: hashed at rest, shown once, revocable, and the only way in besides a session."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.permissions import Role
from accounts.services import api_token_create, api_token_revoke

pytestmark = pytest.mark.django_db


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_token_is_stored_only_as_its_sha256_digest(viewer):
    issued = api_token_create(user=viewer, name="script")
    row = ApiToken.objects.get(pk=issued.token.pk)
    assert row.digest == hashlib.sha256(issued.raw.encode()).hexdigest()
    stored = [str(value) for value in ApiToken.objects.values_list().get(pk=row.pk)]
    assert all(issued.raw not in value for value in stored)
    assert issued.raw.startswith(row.prefix) and len(row.prefix) < len(issued.raw) // 3


def test_valid_token_authenticates_and_records_last_use(viewer):
    issued = api_token_create(user=viewer, name="script")
    response = bearer(issued.raw).get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["username"] == viewer.username
    assert response.json()["role"] == "viewer"
    issued.token.refresh_from_db()
    assert issued.token.last_used_at is not None


def test_last_use_is_written_at_most_once_per_resolution(viewer, django_assert_num_queries):
    issued = api_token_create(user=viewer, name="script")
    client = bearer(issued.raw)
    client.get("/api/v1/me/")
    first = ApiToken.objects.get(pk=issued.token.pk).last_used_at
    client.get("/api/v1/me/")
    assert ApiToken.objects.get(pk=issued.token.pk).last_used_at == first


@pytest.mark.parametrize(
    "header",
    [
        "Bearer opt_wrong",
        "Bearer not-even-our-format",
        "Bearer ",
        "Bearer a b",
        "bearer opt_" + "x" * 300,
    ],
)
def test_wrong_token_is_401_with_machine_readable_body(viewer, header):
    api_token_create(user=viewer, name="script")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/services/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["type"] == "authentication_failed"


def test_revoked_token_is_401(viewer):
    issued = api_token_create(user=viewer, name="script")
    api_token_revoke(token=issued.token)
    assert bearer(issued.raw).get("/api/v1/services/").status_code == 401


def test_expired_token_is_401(viewer):
    issued = api_token_create(
        user=viewer, name="script", expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert bearer(issued.raw).get("/api/v1/services/").status_code == 401


def test_token_of_deactivated_user_is_401(viewer):
    issued = api_token_create(user=viewer, name="script")
    viewer.is_active = False
    viewer.save()
    assert bearer(issued.raw).get("/api/v1/services/").status_code == 401


def test_missing_credentials_is_401_not_403(api_client):
    response = api_client.get("/api/v1/services/")
    assert response.status_code == 401
    assert response.json() == {
        "type": "not_authenticated",
        "detail": "Authentication credentials were not provided.",
    }


def test_token_appears_in_creation_response_only(viewer, client):
    api = APIClient()
    api.force_authenticate(viewer)
    created = api.post("/api/v1/tokens/", {"name": "grafana"}, format="json")
    assert created.status_code == 201
    raw = created.json()["token"]
    assert created["Cache-Control"] == "no-store"

    later = [
        bearer(raw).get("/api/v1/tokens/"),
        bearer(raw).get(f"/api/v1/tokens/{created.json()['id']}/"),
        bearer(raw).get("/api/v1/me/"),
    ]
    client.force_login(viewer)
    later.append(client.get(reverse("profile")))
    for response in later:
        assert response.status_code == 200
        assert raw.encode() not in response.content
        assert raw[len("opt_") + 8 :].encode() not in response.content


def test_profile_page_shows_new_token_once(client, viewer):
    client.force_login(viewer)
    response = client.post(reverse("profile"), {"name": "deploy script"})
    assert response.status_code == 200
    token = ApiToken.objects.get(user=viewer)
    raw = response.context["issued"].raw
    assert raw.encode() in response.content
    assert "no-store" in response["Cache-Control"]
    assert token.digest == hashlib.sha256(raw.encode()).hexdigest()
    assert raw.encode() not in client.get(reverse("profile")).content


def test_profile_rejects_empty_name_with_field_error(client, viewer):
    client.force_login(viewer)
    response = client.post(reverse("profile"), {"name": ""})
    assert response.status_code == 400
    assert ApiToken.objects.count() == 0


def test_revoke_via_api_keeps_row_and_blocks_token(viewer):
    issued = api_token_create(user=viewer, name="script")
    assert bearer(issued.raw).delete(f"/api/v1/tokens/{issued.token.pk}/").status_code == 204
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is not None
    assert bearer(issued.raw).get("/api/v1/me/").status_code == 401


def test_cannot_see_or_revoke_someone_elses_token(client, viewer, make_user):
    other = make_user(Role.ADMIN, username="other-admin")
    theirs = api_token_create(user=other, name="theirs")
    api = APIClient()
    api.force_authenticate(viewer)
    assert api.get(f"/api/v1/tokens/{theirs.token.pk}/").status_code == 404
    assert api.delete(f"/api/v1/tokens/{theirs.token.pk}/").status_code == 404
    client.force_login(viewer)
    response = client.post(reverse("token-revoke", args=[theirs.token.pk]))
    assert response.status_code == 404
    theirs.token.refresh_from_db()
    assert theirs.token.revoked_at is None


def test_session_api_writes_need_csrf(admin_user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post(
        "/api/v1/service-groups/", {"name": "Edge", "slug": "edge"}, format="json"
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_bearer_api_writes_need_no_csrf(admin_user):
    issued = api_token_create(user=admin_user, name="script")
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
    response = client.post(
        "/api/v1/service-groups/", {"name": "Edge", "slug": "edge"}, format="json"
    )
    assert response.status_code == 201


def test_create_api_token_command_prints_token_alone_on_last_line(viewer):
    out, err = StringIO(), StringIO()
    call_command("create_api_token", viewer.username, stdout=out, stderr=err)
    raw = out.getvalue().strip().splitlines()[-1]
    assert raw.startswith("opt_") and " " not in raw
    assert bearer(raw).get("/api/v1/me/").json()["username"] == viewer.username
    assert raw not in err.getvalue()


def test_create_api_token_command_rejects_unknown_user(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no user"):
        call_command("create_api_token", "ghost", stdout=StringIO(), stderr=StringIO())
