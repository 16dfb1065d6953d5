"""The incident page's panel hook: other apps add sections without the core importing them."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from incidents.panels import register_panel, unregister_panel

pytestmark = pytest.mark.django_db


@pytest.fixture
def panel():
    """Register panels for one test only."""
    names = []

    def add(name, render, **kwargs):
        register_panel(name, render, **kwargs)
        names.append(name)

    yield add
    for name in names:
        unregister_panel(name)


def _page(client, user, incident) -> str:
    client.force_login(user)
    return client.get(reverse("incidents:detail", args=[incident.number])).content.decode()


def test_a_registered_panel_is_rendered_with_its_stylesheet(client, viewer, incident, panel):
    def render(request, incident):
        return render_to_string(
            "incidents/_status.html", {"status": "x", "label": f"panel for {incident.ref}"}
        )

    panel("demo", render, stylesheets=("css/demo.css",))
    html = _page(client, viewer, incident)
    assert f"panel for {incident.ref}" in html
    assert 'id="panel-demo" aria-labelledby="panel-demo-h"' in html
    assert 'href="/static/css/demo.css"' in html.split("</head>")[0]


def test_a_panel_returning_none_shows_nothing(client, viewer, incident, panel):
    panel("empty", lambda request, incident: None)
    assert 'id="panel-empty"' not in _page(client, viewer, incident)


def test_plain_strings_are_escaped(client, viewer, incident, panel):
    panel("raw", lambda request, incident: "<script>alert(1)</script>")
    html = _page(client, viewer, incident)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_failing_panel_is_left_out_and_the_page_still_renders(
    client, viewer, incident, panel, caplog
):
    def broken(request, incident):
        raise RuntimeError("boom")

    panel("broken", broken)
    panel("fine", lambda request, incident: render_to_string("incidents/_severity.html"))
    client.force_login(viewer)
    response = client.get(reverse("incidents:detail", args=[incident.number]))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="panel-broken"' not in html and 'id="panel-fine"' in html
    assert "incident panel 'broken' failed" in caplog.text
