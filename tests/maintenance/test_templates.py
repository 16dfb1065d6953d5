"""Checklist templates: one default at a time, deleting, and /api/v1/checklist-templates/."""

from __future__ import annotations

import pytest

from incidents.services import incident_declare
from maintenance.checklists import template_delete, template_save
from maintenance.errors import MaintenanceError
from maintenance.models import ChecklistKind, ChecklistTemplate, ChecklistTemplateItem, Phase
from maintenance.procedures import procedure_attach
from tests.incidents.support import pool_room_for, run_together

pytestmark = pytest.mark.django_db

URL = "/api/v1/checklist-templates/"


def standard() -> ChecklistTemplate:
    return ChecklistTemplate.objects.get(slug="standard-maintenance")


def new_checklist(name: str, **fields) -> ChecklistTemplate:
    return template_save(
        name=name,
        slug=name.lower().replace(" ", "-"),
        kind=ChecklistKind.MAINTENANCE,
        items=[{"phase": Phase.PRE, "title": "Tell people", "required": True}],
        **fields,
    )


def defaults() -> list[str]:
    return list(ChecklistTemplate.objects.filter(is_default=True).values_list("slug", flat=True))


# --- The one default --------------------------------------------------------------------------


def test_making_a_checklist_the_default_clears_the_previous_one():
    assert defaults() == ["standard-maintenance"]
    quick = new_checklist("Quick change", is_default=True)
    assert defaults() == ["quick-change"]
    template_save(template=standard(), is_default=True)
    assert defaults() == ["standard-maintenance"]
    assert list(quick.items.values_list("title", flat=True)) == ["Tell people"]


def test_the_default_cannot_be_unset_or_deactivated_directly():
    with pytest.raises(MaintenanceError) as refused:
        template_save(template=standard(), is_default=False)
    assert refused.value.code == "default_required"
    with pytest.raises(MaintenanceError) as refused:
        template_save(template=standard(), active=False)
    assert refused.value.code == "invalid_default"
    assert defaults() == ["standard-maintenance"] and standard().active


def test_a_recovery_procedure_cannot_be_the_default():
    with pytest.raises(MaintenanceError) as refused:
        template_save(
            template=ChecklistTemplate.objects.get(slug="service-failure"), is_default=True
        )
    assert refused.value.code == "invalid_default"
    assert defaults() == ["standard-maintenance"]


def test_saving_with_items_replaces_them_and_without_keeps_them():
    quick = new_checklist("Quick change")
    template_save(template=quick, description="For small changes.")
    assert quick.items.count() == 1
    template_save(
        template=quick,
        items=[
            {"phase": Phase.PRE, "title": "Back up", "position": 0},
            {"phase": Phase.POST, "title": "Verify", "required": True, "position": 0},
        ],
    )
    assert sorted(quick.items.values_list("title", flat=True)) == ["Back up", "Verify"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_new_defaults_leave_exactly_one():
    def make_default(index: int) -> None:
        new_checklist(f"Checklist {index}", is_default=True)

    with pool_room_for(6):
        run_together(6, make_default)

    assert len(defaults()) == 1


def test_deleting_refuses_the_default_and_procedures_in_use(commander):
    with pytest.raises(MaintenanceError) as refused:
        template_delete(template=standard())
    assert refused.value.code == "default_required"
    database = ChecklistTemplate.objects.get(slug="database-failure")
    incident = incident_declare(title="DB down", severity="P2", by=commander)
    procedure_attach(incident=incident, template=database, by=commander)
    with pytest.raises(MaintenanceError) as refused:
        template_delete(template=database)
    assert refused.value.code == "in_use" and refused.value.extra == {"incidents": 1}

    quick = new_checklist("Quick change")
    template_delete(template=quick)
    assert not ChecklistTemplate.objects.filter(pk=quick.pk).exists()
    assert not ChecklistTemplateItem.objects.filter(template_id=quick.pk).exists()


# --- API: role tables -------------------------------------------------------------------------

READ_TABLE = dict(anonymous=401, viewer=200, responder=200, commander=200, admin=200)
WRITE_TABLE = dict(anonymous=401, viewer=403, responder=403, commander="ok", admin="ok")


def _role(request) -> str:
    return request.node.callspec.params["persona"]


@pytest.mark.parametrize("persona", list(READ_TABLE), indirect=True)
def test_every_role_reads_templates(api_as, persona, request):
    client = api_as(persona)
    listing = client.get(URL)
    detail = client.get(f"{URL}{standard().pk}/")
    assert listing.status_code == detail.status_code == READ_TABLE[_role(request)]
    if listing.status_code == 200:
        assert listing.json()["count"] == 4
        items = detail.json()["items"]
        assert len(items) == 12 and {"phase", "title", "required"} <= set(items[0])


@pytest.mark.parametrize("persona", list(WRITE_TABLE), indirect=True)
def test_only_managers_write_templates(api_as, persona, request):
    client = api_as(persona)
    created = client.post(
        URL,
        {
            "name": "Cache failure",
            "kind": "recovery",
            "items": [{"title": "Bypass the cache", "incident_step": "mitigate"}],
        },
        format="json",
    )
    target = ChecklistTemplate.objects.get(slug="service-failure").pk
    patched = client.patch(f"{URL}{target}/", {"description": "New words."}, format="json")
    deleted = client.delete(f"{URL}{target}/")
    expected = WRITE_TABLE[_role(request)]
    if expected == "ok":
        assert (created.status_code, patched.status_code, deleted.status_code) == (201, 200, 204)
    else:
        assert created.status_code == patched.status_code == deleted.status_code == expected
        assert not ChecklistTemplate.objects.filter(name="Cache failure").exists()


# --- API: behaviour ---------------------------------------------------------------------------


def test_creating_a_recovery_procedure_fills_in_phase_slug_and_positions(api_as, commander):
    response = api_as(commander).post(
        URL,
        {
            "name": "Cache failure",
            "kind": "recovery",
            "description": "Redis is down or evicting everything.",
            "items": [
                {"title": "Confirm the cache is down", "incident_step": "assess"},
                {"title": "Bypass the cache", "incident_step": "mitigate", "due_minutes": 20},
            ],
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["slug"] == "cache-failure" and body["is_default"] is False
    assert [(i["phase"], i["position"], i["due_minutes"]) for i in body["items"]] == [
        ("procedure", 0, 30),
        ("procedure", 1, 20),
    ]


def test_making_a_template_default_through_the_api_clears_the_other(api_as, commander):
    client = api_as(commander)
    response = client.post(
        URL,
        {
            "name": "Quick change",
            "kind": "maintenance",
            "is_default": True,
            "items": [{"phase": "pre", "title": "Tell people", "required": True}],
        },
        format="json",
    )
    assert response.status_code == 201
    assert defaults() == ["quick-change"]
    listing = client.get(URL, {"kind": "maintenance"}).json()["results"]
    assert [(t["slug"], t["is_default"]) for t in listing] == [
        ("quick-change", True),
        ("standard-maintenance", False),
    ]


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        (
            {"kind": "recovery", "items": [{"title": "Do it"}]},
            {"items": [{"incident_step": ["Choose the playbook step the task lands in."]}]},
        ),
        (
            {
                "kind": "recovery",
                "items": [{"title": "Do it", "phase": "pre", "incident_step": "assess"}],
            },
            {"items": [{"phase": ["Recovery procedure items have the phase “procedure”."]}]},
        ),
        (
            {"kind": "maintenance", "items": [{"title": "Do it", "phase": "procedure"}]},
            {"items": [{"phase": ["Choose pre, during or post."]}]},
        ),
        (
            {
                "kind": "maintenance",
                "items": [{"title": "Do it", "phase": "pre", "incident_step": "assess"}],
            },
            {"items": [{"incident_step": ["Only recovery procedure items have a step."]}]},
        ),
        (
            {"kind": "recovery", "is_default": True, "items": []},
            {"is_default": ["Only a maintenance checklist can be the default."]},
        ),
    ],
)
def test_invalid_templates_answer_400_with_field_errors(api_as, commander, payload, errors):
    response = api_as(commander).post(URL, {"name": "Broken", **payload}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == errors
    assert not ChecklistTemplate.objects.filter(name="Broken").exists()


@pytest.mark.parametrize(
    "payload",
    [
        {"name": "Database failure", "kind": "recovery", "items": []},
        {"name": "x", "kind": "nonsense", "items": []},
        {"name": "x", "kind": "recovery", "items": "not a list"},
        {"name": "x", "kind": "recovery", "items": [{"title": "t", "incident_step": "x"}]},
        {"name": "x", "kind": "recovery", "items": [{"title": "t", "due_minutes": -1}]},
        {"name": "x" * 121, "kind": "recovery", "items": []},
        {"name": "x", "kind": "recovery", "items": [{"title": "t"}] * 101},
    ],
)
def test_malformed_templates_answer_400_never_500(api_as, commander, payload):
    response = api_as(commander).post(URL, payload, format="json")
    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"


def test_the_default_cannot_be_unset_deleted_or_deactivated_through_the_api(api_as, commander):
    client = api_as(commander)
    url = f"{URL}{standard().pk}/"
    unset = client.patch(url, {"is_default": False}, format="json")
    assert unset.status_code == 409 and unset.json()["type"] == "default_required"
    deleted = client.delete(url)
    assert deleted.status_code == 409 and deleted.json()["type"] == "default_required"
    deactivated = client.patch(url, {"active": False}, format="json")
    assert deactivated.status_code == 400
    assert defaults() == ["standard-maintenance"]


def test_deleting_a_procedure_in_use_answers_409(api_as, commander):
    database = ChecklistTemplate.objects.get(slug="database-failure")
    incident = incident_declare(title="DB down", severity="P2", by=commander)
    procedure_attach(incident=incident, template=database, by=commander)
    response = api_as(commander).delete(f"{URL}{database.pk}/")
    assert response.status_code == 409
    assert response.json() == {
        "type": "in_use",
        "detail": "“Database failure” is attached to 1 incident: deactivate it instead.",
        "extra": {"incidents": 1},
    }


def test_changing_the_kind_checks_the_stored_items(api_as, commander):
    url = f"{URL}{ChecklistTemplate.objects.get(slug='service-failure').pk}/"
    response = api_as(commander).patch(url, {"kind": "maintenance"}, format="json")
    assert response.status_code == 400 and "items" in response.json()["errors"]


def test_put_replaces_the_items(api_as, commander):
    template = ChecklistTemplate.objects.get(slug="service-failure")
    response = api_as(commander).put(
        f"{URL}{template.pk}/",
        {
            "name": "Service failure",
            "kind": "recovery",
            "items": [{"title": "Restart it", "incident_step": "mitigate", "due_minutes": 5}],
        },
        format="json",
    )
    assert response.status_code == 200
    assert [i["title"] for i in response.json()["items"]] == ["Restart it"]
    assert list(template.items.values_list("title", flat=True)) == ["Restart it"]


def test_filters_by_kind_and_active(api_as, viewer):
    ChecklistTemplate.objects.filter(slug="complete-outage").update(active=False)
    client = api_as(viewer)
    recovery = client.get(URL, {"kind": "recovery", "active": "true"}).json()["results"]
    assert [t["slug"] for t in recovery] == ["database-failure", "service-failure"]
    assert client.get(URL, {"kind": "nope"}).status_code == 400
    assert client.get(URL, {"active": "maybe"}).status_code == 400


def test_items_without_a_position_go_after_the_others(api_as, commander):
    template = ChecklistTemplate.objects.get(slug="service-failure")
    response = api_as(commander).patch(
        f"{URL}{template.pk}/",
        {
            "items": [
                {"title": "Later", "incident_step": "resolve"},
                {"title": "First", "incident_step": "assess", "position": 5},
                {"title": "Last", "incident_step": "resolve"},
            ]
        },
        format="json",
    )
    assert response.status_code == 200
    assert list(template.items.order_by("position").values_list("title", "position")) == [
        ("First", 5),
        ("Later", 6),
        ("Last", 7),
    ]


def test_a_patch_still_needs_a_title_on_every_item(api_as, commander):
    template = ChecklistTemplate.objects.get(slug="service-failure")
    response = api_as(commander).patch(
        f"{URL}{template.pk}/", {"items": [{"incident_step": "assess"}]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"items": [{"title": ["This field is required."]}]}
    assert template.items.count() == 5
