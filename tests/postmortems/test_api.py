"""/api/v1/postmortems/ and /api/v1/action-items/: roles, the lifecycle over HTTP, 4xx bodies,
query counts."""

from __future__ import annotations

import pytest

from accounts.permissions import Role
from postmortems import services
from postmortems.models import Postmortem

pytestmark = pytest.mark.django_db
URL = "/api/v1/postmortems/"
ITEMS = "/api/v1/action-items/"


@pytest.fixture
def postmortem(resolved):
    return services.postmortem_create(incident=resolved())


@pytest.mark.parametrize(
    ("role", "read", "write", "publish"),
    [
        (None, 401, 401, 401),
        (Role.VIEWER, 200, 403, 403),
        (Role.RESPONDER, 200, 200, 403),
        (Role.COMMANDER, 200, 200, 409),
        (Role.ADMIN, 200, 200, 409),
    ],
)
def test_role_table(api_as, make_user, postmortem, role, read, write, publish):
    client = api_as(make_user(role) if role else None)
    for path in (
        "",
        f"{postmortem.pk}/",
        f"{postmortem.pk}/timeline/",
        f"{postmortem.pk}/revisions/",
    ):
        assert client.get(URL + path).status_code == read, path
    assert client.get(ITEMS).status_code == read
    patched = client.patch(f"{URL}{postmortem.pk}/", {"lessons": "x"}, format="json")
    assert patched.status_code == write
    # Commanders pass the role check and meet the state rule (a draft cannot be published).
    assert client.post(f"{URL}{postmortem.pk}/publish/").status_code == publish


def test_write_review_publish_over_the_api(api_as, make_user, postmortem):
    writer = api_as(make_user(Role.RESPONDER))
    reviewer = api_as(make_user(Role.COMMANDER))
    body = {"summary": "Pool exhausted by a leak.", "root_cause": "Unclosed cursors."}
    assert writer.patch(f"{URL}{postmortem.pk}/", body, format="json").status_code == 200
    assert writer.post(f"{URL}{postmortem.pk}/submit/").json()["state"] == "in_review"
    assert writer.post(f"{URL}{postmortem.pk}/review/").status_code == 403
    not_reviewed = reviewer.post(f"{URL}{postmortem.pk}/publish/")
    assert not_reviewed.status_code == 409 and not_reviewed.json()["type"] == "not_reviewed"
    reviewer.post(f"{URL}{postmortem.pk}/review/")
    published = reviewer.post(f"{URL}{postmortem.pk}/publish/").json()
    assert published["state"] == "published" and published["revision"] == 1
    [revision] = reviewer.get(f"{URL}{postmortem.pk}/revisions/").json()
    assert revision["content"]["sections"]["summary"] == body["summary"]
    assert reviewer.get(f"{URL}{postmortem.pk}/revisions/1/").status_code == 200
    assert reviewer.get(f"{URL}{postmortem.pk}/revisions/9/").status_code == 404


def test_curation_over_the_api(api_as, make_user, postmortem):
    client = api_as(make_user(Role.RESPONDER))
    entries = client.get(f"{URL}{postmortem.pk}/timeline/").json()
    target = entries[1]
    hidden = client.post(
        f"{URL}{postmortem.pk}/curation/",
        {"seq": target["seq"], "hidden": True, "annotation": "noise"},
        format="json",
    )
    assert hidden.status_code == 200 and hidden.json()["hidden"] is True
    missing = client.post(f"{URL}{postmortem.pk}/curation/", {"seq": 9999}, format="json")
    assert missing.status_code == 404


def test_action_items_over_the_api(api_as, make_user, postmortem):
    owner = make_user(Role.RESPONDER)
    client = api_as(owner)
    created = client.post(
        ITEMS,
        {
            "postmortem": postmortem.pk,
            "title": "Alert on pool saturation",
            "owner": owner.username,
            "due_date": "2026-03-10",
            "priority": "high",
            "external_url": "https://tickets.example.com/OPS-1",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    item = created.json()
    refused = client.post(f"{ITEMS}{item['id']}/status/", {"status": "wont_do"}, format="json")
    assert refused.status_code == 400 and refused.json()["type"] == "reason_required"
    done = client.post(f"{ITEMS}{item['id']}/status/", {"status": "done"}, format="json")
    assert done.json()["status"] == "done" and done.json()["completed_at"]
    assert client.get(f"{ITEMS}?overdue=true").json()["count"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"due_at": "soon"},
        {"owner": "nobody-by-that-name"},
        {"summary": "x" * 50001},
        {"impact_started_at": "2026-13-45T00:00:00Z"},
    ],
)
def test_bad_input_is_a_400(api_as, make_user, postmortem, body):
    client = api_as(make_user(Role.RESPONDER))
    response = client.patch(f"{URL}{postmortem.pk}/", body, format="json")
    assert response.status_code == 400 and response.json()["type"] == "validation_error"


def test_creating_a_second_postmortem_is_a_409(api_as, make_user, postmortem):
    client = api_as(make_user(Role.RESPONDER))
    again = client.post(URL, {"incident": postmortem.incident_id}, format="json")
    assert again.status_code == 409 and again.json()["type"] == "already_exists"


@pytest.mark.parametrize("count", [1, 15])
def test_list_query_count_does_not_grow(
    api_as, make_user, resolved, count, django_assert_max_num_queries
):
    for n in range(count):
        services.postmortem_create(incident=resolved(title=f"Incident {n}"))
    client = api_as(make_user(Role.VIEWER))
    with django_assert_max_num_queries(6):
        response = client.get(URL)
    assert response.json()["count"] == count == Postmortem.objects.count()
