"""Admins configure the public page: name, logo, accent colour, `/` for anonymous visitors."""

from __future__ import annotations

import pytest

from accounts.permissions import Role
from statuspage.models import PageConfig

pytestmark = pytest.mark.django_db
URL = "/status/admin/settings/"


def save(client, **changes):
    data = {
        "name": "Acme",
        "logo_url": "",
        "brand_color": "#123456",
        "stale_after_minutes": 120,
        **changes,
    }
    return client.post(URL, data)


@pytest.mark.parametrize(
    ("role", "code"),
    [
        (None, 302),
        (Role.VIEWER, 403),
        (Role.RESPONDER, 403),
        (Role.COMMANDER, 403),
        (Role.ADMIN, 200),
    ],
)
def test_only_admins_configure_the_page(client, make_user, role, code):
    if role:
        client.force_login(make_user(role))
    assert client.get(URL).status_code == code


def test_the_name_and_colour_show_everywhere_at_once(client, make_user):
    client.get("/status/")  # cached with the default name
    client.force_login(make_user(Role.ADMIN))
    assert save(client, name="Acme Cloud").status_code == 302
    client.logout()
    page = client.get("/status/").content.decode()
    assert "Acme Cloud" in page and "--accent: #123456" in page
    assert client.get("/api/v2/components.json").json()["page"]["name"] == "Acme Cloud"
    assert "Acme Cloud" in client.get("/history.atom").content.decode()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"brand_color": "red;}</style><script>"}, "brand_color"),
        ({"logo_url": "javascript:alert(1)"}, "logo_url"),
        ({"logo_url": "http://cdn.example.com/logo.png"}, "logo_url"),
        ({"stale_after_minutes": 1}, "stale_after_minutes"),
    ],
)
def test_bad_values_are_refused(client, make_user, changes, field):
    client.force_login(make_user(Role.ADMIN))
    response = save(client, **changes)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert PageConfig.current().brand_color == "#1d4ed8"


def test_anonymous_visitors_of_the_root_can_be_sent_to_the_status_page(client, make_user):
    assert client.get("/")["Location"].startswith("/login")
    config = PageConfig.current()
    config.home_for_anonymous = True
    config.save()
    assert client.get("/")["Location"] == "/status/"
    client.force_login(make_user(Role.VIEWER))
    assert client.get("/")["Location"] != "/status/"  # signed-in people still go to the portal
