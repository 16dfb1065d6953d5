"""A NUL character anywhere in API input is a 400, never a 500 (PostgreSQL text cannot hold one;
the schema fuzzer found it through a related slug)."""

from __future__ import annotations

import pytest

from accounts.permissions import Role

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/action-items/", {"postmortem": 1, "title": "x", "owner": "a\x00b"}),
        ("get", "/api/v1/action-items/?owner=a%00b", None),
        ("get", "/api/v1/postmortems/?owner=a%00b", None),
        ("post", "/api/v1/maintenance-windows/", {"title": "x", "services": ["a\x00"]}),
    ],
)
def test_nul_in_input_is_a_400(api_as, make_user, method, path, body):
    client = api_as(make_user(Role.ADMIN))
    response = getattr(client, method)(path, body, format="json") if body else client.get(path)
    assert response.status_code == 400, response.content
    assert response.json()["type"] in {"invalid_input", "validation_error"}
