"""The postmortem panel of the incident page: the postmortem's state, due, owner, action items
and link; "Start postmortem" for a resolved incident without one; one query."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents.services import incident_declare
from postmortems import services

from .support import published

pytestmark = pytest.mark.django_db


def panel(client, user, incident) -> str:
    client.force_login(user)
    response = client.get(reverse("incidents:detail", args=[incident.number]))
    assert response.status_code == 200
    match = re.search(
        r'<section[^>]*id="panel-postmortem".*?</section>', response.content.decode(), re.S
    )
    return match.group(0) if match else ""


def test_the_panel_shows_state_due_owner_items_and_a_link(client, viewer, commander, postmortem):
    services.action_item_create(postmortem=postmortem, title="One", by=commander)
    services.action_item_create(postmortem=postmortem, title="Two", by=commander)
    html = panel(client, viewer, postmortem.incident)
    assert 'aria-labelledby="panel-postmortem-h"' in html and 'id="panel-postmortem-h"' in html
    assert "pmstate-draft" in html and "due in 47 h" in html
    assert f"owner {commander.display_name}" in html
    assert "2 of 2 action items open" in html
    assert f'href="{reverse("postmortems:detail", args=[postmortem.pk])}"' in html
    assert "<form" not in html


def test_an_overdue_postmortem_says_so(client, viewer, commander, postmortem):
    services.postmortem_update(
        postmortem=postmortem, by=commander, due_at=timezone.now() - timedelta(hours=5)
    )
    html = panel(client, viewer, postmortem.incident)
    assert 'class="small overdue"' in html and "overdue by 5 h" in html


def test_a_published_postmortem_links_to_the_reading(client, viewer, commander, postmortem):
    published(postmortem, commander)
    html = panel(client, viewer, postmortem.incident)
    assert "pmstate-published" in html and "Read the postmortem" in html and "late" not in html


def test_writers_may_start_one_for_a_resolved_incident_without_one(
    client, viewer, responder, resolved
):
    incident = resolved("P3")
    html = panel(client, responder, incident)
    assert "optional for P3" in html
    assert f'action="{reverse("postmortems:start", args=[incident.pk])}"' in html
    assert "Start postmortem" in html
    assert panel(client, viewer, incident) == ""


def test_an_open_incident_without_a_postmortem_shows_no_panel(client, commander):
    incident = incident_declare(title="Still burning", severity="P1", by=commander)
    assert panel(client, commander, incident) == ""


def test_the_panel_costs_one_query_whatever_the_action_items(
    client, viewer, commander, postmortem, django_assert_max_num_queries
):
    url = reverse("incidents:detail", args=[postmortem.incident.number])
    client.force_login(viewer)
    with django_assert_max_num_queries(25) as few:
        client.get(url)
    for n in range(20):
        services.action_item_create(postmortem=postmortem, title=f"Fix {n}", by=commander)
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client.get(url).content.decode()
    assert "20 of 20 action items open" in html
