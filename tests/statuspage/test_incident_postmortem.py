"""A published postmortem's customer-facing summary shows on the incident's public page —
only as published, and nothing else of the postmortem."""

from __future__ import annotations

import pytest

from accounts.permissions import Role
from incidents.services import incident_declare, incident_transition, public_update_post
from postmortems import services as postmortems
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(make_user, without_evidence_gates):
    from tests.seeds import reseed

    reseed()
    commander = make_user(Role.COMMANDER)
    incident = incident_declare(
        title="Checkout errors", severity="P1", by=commander, services=[ServiceFactory()]
    )
    public_update_post(incident=incident, by=commander, status="investigating", body="Looking.")
    for to in ("acknowledged", "investigating", "mitigating", "resolved"):
        incident = incident_transition(incident=incident, to=to, by=commander)
    incident.commander_user = commander
    return incident


def page(client, incident):
    return client.get(f"/status/incidents/INC-{incident.number}/").content.decode()


def test_only_the_published_customer_summary_is_shown(client, incident):
    by = incident.commander_user
    postmortem = postmortems.postmortem_create(incident=incident)
    postmortems.postmortem_update(
        postmortem=postmortem,
        by=by,
        summary="SECRET-SECTION",
        root_cause="SECRET-ROOT-CAUSE",
        customer_summary="A configuration change **reduced capacity**; we have fixed it.",
    )
    assert "reduced capacity" not in page(client, incident)  # a draft is not public
    postmortems.postmortem_submit(postmortem=postmortem, by=by)
    postmortems.postmortem_review(postmortem=postmortem, by=by)
    postmortems.postmortem_publish(postmortem=postmortem, by=by)
    html = page(client, incident)
    assert "<strong>reduced capacity</strong>" in html
    assert "SECRET-SECTION" not in html and "SECRET-ROOT-CAUSE" not in html
    # Later edits are a draft of revision 2: the page keeps the published text.
    postmortems.postmortem_update(postmortem=postmortem, by=by, customer_summary="DRAFT-TEXT")
    html = page(client, incident)
    assert "reduced capacity" in html and "DRAFT-TEXT" not in html


def test_no_section_without_a_customer_summary(client, incident):
    assert "Postmortem" not in page(client, incident)
