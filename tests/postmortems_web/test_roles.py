"""Who may open which postmortem page and press which button: every page and POST, every role."""

from __future__ import annotations

import pytest
from django.urls import reverse

from incidents.models import EventKind
from incidents.services import incident_declare
from postmortems import services
from postmortems.models import Postmortem

from .support import published, written

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "viewer", "responder", "commander", "admin"]
READERS = dict(anonymous=302, viewer=200, responder=200, commander=200, admin=200)
WRITERS_PAGE = dict(anonymous=302, viewer=403, responder=200, commander=200, admin=200)
WRITERS = dict(anonymous=302, viewer=403, responder=302, commander=302, admin=302)
PUBLISHERS = dict(anonymous=302, viewer=403, responder=403, commander=302, admin=302)


def _role(request) -> str:
    return request.node.callspec.params["persona"]


def _sign_in(client, persona):
    if persona is not None:
        client.force_login(persona)


PAGES = {
    "list": (lambda pm: reverse("postmortems:list"), READERS),
    "action-items": (lambda pm: reverse("postmortems:action-items"), READERS),
    "detail": (lambda pm: reverse("postmortems:detail", args=[pm.pk]), READERS),
    "revision": (lambda pm: reverse("postmortems:revision", args=[pm.pk, 1]), READERS),
    "edit": (lambda pm: reverse("postmortems:edit", args=[pm.pk]), WRITERS_PAGE),
}


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("persona", ROLES, indirect=True)
def test_pages_by_role(client, persona, commander, postmortem, name, request):
    published(postmortem, commander)
    url_of, expected = PAGES[name]
    _sign_in(client, persona)
    response = client.get(url_of(postmortem))
    assert response.status_code == expected[_role(request)]
    if _role(request) == "anonymous":
        assert response["Location"].startswith(reverse("login"))


def _draft(postmortem, commander):
    return written(postmortem, commander)


def _in_review(postmortem, commander):
    postmortem = written(postmortem, commander)
    return services.postmortem_submit(postmortem=postmortem, by=commander)


def _reviewed(postmortem, commander):
    postmortem = _in_review(postmortem, commander)
    return services.postmortem_review(postmortem=postmortem, by=commander)


def _item(postmortem, commander):
    return services.action_item_create(postmortem=postmortem, title="Raise the pool", by=commander)


ACTIONS = {
    # name: (prepare, url, data, expected)
    "submit": (_draft, lambda pm: reverse("postmortems:submit", args=[pm.pk]), {}, WRITERS),
    "review": (_in_review, lambda pm: reverse("postmortems:review", args=[pm.pk]), {}, PUBLISHERS),
    "return": (
        _in_review,
        lambda pm: reverse("postmortems:return", args=[pm.pk]),
        {"reason": "Root cause is the trigger, dig deeper."},
        PUBLISHERS,
    ),
    "publish": (
        _reviewed,
        lambda pm: reverse("postmortems:publish", args=[pm.pk]),
        {},
        PUBLISHERS,
    ),
    "edit": (
        _draft,
        lambda pm: reverse("postmortems:edit", args=[pm.pk]),
        None,  # the form as shown, with the summary changed
        WRITERS,
    ),
    "curate": (
        _draft,
        lambda pm: reverse(
            "postmortems:curate",
            args=[pm.pk, pm.incident.events.get(kind=EventKind.DECLARED).pk],
        ),
        {"hidden": "1"},
        WRITERS,
    ),
    "item-add": (
        _draft,
        lambda pm: reverse("postmortems:action-item-add", args=[pm.pk]),
        {"title": "Alert on pool saturation", "priority": "high"},
        WRITERS,
    ),
    "item-status": (
        _item,
        lambda item: reverse("postmortems:action-item-status", args=[item.pk]),
        {"status": "in_progress"},
        WRITERS,
    ),
}


def _edit_data(postmortem) -> dict:
    return {
        "owner": postmortem.owner_id,
        "due_at": postmortem.due_at.strftime("%Y-%m-%dT%H:%M"),
        "summary": "A new summary.",
        "root_cause": postmortem.root_cause,
    }


@pytest.mark.parametrize("name", ACTIONS)
@pytest.mark.parametrize("persona", ROLES, indirect=True)
def test_actions_by_role(client, persona, commander, postmortem, name, request):
    prepare, url_of, data, expected = ACTIONS[name]
    subject = prepare(postmortem, commander)
    if data is None:
        data = _edit_data(subject)
    _sign_in(client, persona)
    response = client.post(url_of(subject), data)
    role = _role(request)
    assert response.status_code == expected[role], response.content.decode()[:2000]
    if role == "anonymous":
        assert response["Location"].startswith(reverse("login"))
    elif expected[role] == 302:
        assert response["Location"].startswith(reverse("postmortems:detail", args=[postmortem.pk]))


@pytest.mark.parametrize("persona", ROLES, indirect=True)
def test_starting_an_optional_postmortem_by_role(client, persona, commander, resolved, request):
    incident = resolved("P3")
    _sign_in(client, persona)
    response = client.post(reverse("postmortems:start", args=[incident.pk]))
    expected = WRITERS[_role(request)]
    assert response.status_code == expected
    created = Postmortem.objects.filter(incident=incident).first()
    if _role(request) in ("responder", "commander", "admin"):
        assert created is not None and created.required is False
        assert response["Location"] == reverse("postmortems:detail", args=[created.pk])
    else:
        assert created is None


@pytest.mark.parametrize(
    "name", ["submit", "review", "return", "publish", "curate", "item-add", "item-status"]
)
def test_actions_answer_get_with_405(client, commander, postmortem, name):
    prepare, url_of, _data, _expected = ACTIONS[name]
    subject = prepare(postmortem, commander)
    client.force_login(commander)
    assert client.get(url_of(subject)).status_code == 405


def test_unknown_postmortems_revisions_and_events_are_404(client, commander, postmortem):
    client.force_login(commander)
    other = incident_declare(title="Elsewhere", severity="P3", by=commander)
    foreign = other.events.first()
    assert client.get(reverse("postmortems:detail", args=[999999])).status_code == 404
    assert client.get(reverse("postmortems:revision", args=[postmortem.pk, 1])).status_code == 404
    curate = reverse("postmortems:curate", args=[postmortem.pk, foreign.pk])
    assert client.post(curate, {"hidden": "1"}).status_code == 404
    status = reverse("postmortems:action-item-status", args=[999999])
    assert client.post(status, {"status": "done"}).status_code == 404
    assert client.post(reverse("postmortems:start", args=[999999])).status_code == 404


def test_starting_on_an_open_incident_explains_instead_of_creating(client, commander):
    incident = incident_declare(title="Still burning", severity="P3", by=commander)
    client.force_login(commander)
    response = client.post(reverse("postmortems:start", args=[incident.pk]), follow=True)
    assert response.status_code == 200
    assert "is not resolved yet" in response.content.decode()
    assert not Postmortem.objects.filter(incident=incident).exists()


def test_starting_twice_opens_the_existing_postmortem(client, commander, resolved):
    incident = resolved("P3")
    client.force_login(commander)
    first = client.post(reverse("postmortems:start", args=[incident.pk]))
    second = client.post(reverse("postmortems:start", args=[incident.pk]))
    assert first["Location"] == second["Location"]
    assert Postmortem.objects.filter(incident=incident).count() == 1
