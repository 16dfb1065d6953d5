"""Pages: the incident page's recovery procedures panel, attaching from it, and the checklist
template pages (list, detail, editor, delete)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils.html import escape

from incidents.models import Status
from incidents.services import incident_declare, incident_transition, task_complete
from maintenance.models import AttachedProcedure, ChecklistKind, ChecklistTemplate, Phase
from maintenance.procedures import procedure_attach
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "viewer", "responder", "commander", "admin"]


@pytest.fixture
def incident(commander):
    return incident_declare(
        title="Orders database refuses connections",
        severity="P2",
        by=commander,
        commander=commander,
        services=[ServiceFactory(slug="orders")],
    )


def procedure(slug: str) -> ChecklistTemplate:
    return ChecklistTemplate.objects.get(slug=slug)


def incident_page(client, user, incident) -> str:
    client.force_login(user)
    response = client.get(reverse("incidents:detail", args=[incident.number]))
    assert response.status_code == 200
    return response.content.decode()


def panel_of(html: str) -> str:
    match = re.search(r'<section[^>]*id="panel-procedures".*?</section>', html, re.S)
    return match.group(0) if match else ""


def attach_url(incident) -> str:
    return reverse("maintenance:procedure-attach", args=[incident.pk])


# --- The panel --------------------------------------------------------------------------------


def test_viewers_see_no_panel_until_a_procedure_is_attached(client, viewer, incident, commander):
    assert panel_of(incident_page(client, viewer, incident)) == ""
    procedure_attach(incident=incident, template=procedure("database-failure"), by=commander)
    panel = panel_of(incident_page(client, viewer, incident))
    assert "Database failure" in panel and "0 of 6 tasks done" in panel
    assert "<form" not in panel  # neither attach nor tick


def test_commanders_get_a_menu_of_the_active_procedures_not_yet_attached(
    client, commander, incident
):
    ChecklistTemplate.objects.filter(slug="complete-outage").update(active=False)
    panel = panel_of(incident_page(client, commander, incident))
    assert f'action="{attach_url(incident)}"' in panel
    options = re.findall(r"<option [^>]*>([^<]+)</option>", panel)
    assert options == ["Database failure", "Service failure"]
    assert "No recovery procedure attached" in panel

    procedure_attach(incident=incident, template=procedure("service-failure"), by=commander)
    options = re.findall(
        r"<option [^>]*>([^<]+)</option>", panel_of(incident_page(client, commander, incident))
    )
    assert options == ["Database failure"]


def test_responders_tick_procedure_tasks_from_the_panel(client, responder, commander, incident):
    attached = procedure_attach(
        incident=incident, template=procedure("database-failure"), by=commander
    )
    first = attached.tasks.order_by("position").first()
    panel = panel_of(incident_page(client, responder, incident))
    tick = reverse("incidents:task", args=[incident.number, first.pk, "complete"])
    assert f'action="{tick}"' in panel
    assert f'action="{attach_url(incident)}"' not in panel

    response = client.post(tick)

    assert response.status_code == 302
    panel = panel_of(incident_page(client, responder, incident))
    assert "1 of 6 tasks done" in panel and f'action="{tick}"' not in panel
    assert "done by" in panel


def test_the_attach_event_reads_well_on_the_timeline(client, viewer, commander, incident):
    procedure_attach(incident=incident, template=procedure("complete-outage"), by=commander)
    html = incident_page(client, viewer, incident)
    assert "Recovery procedure attached: Complete outage (6 tasks)" in html
    # The tasks also appear in their playbook steps.
    assert html.count("Declare P0 and open the bridge") >= 2


def test_a_closed_incident_offers_neither_attaching_nor_ticking(client, commander, incident):
    procedure_attach(incident=incident, template=procedure("service-failure"), by=commander)
    incident_transition(incident=incident, to=Status.RESOLVED, by=commander)
    incident_transition(incident=incident, to=Status.CLOSED, by=commander)
    panel = panel_of(incident_page(client, commander, incident))
    assert "Service failure" in panel and "<form" not in panel


def test_the_incident_page_costs_a_bounded_number_of_queries_with_procedures(
    client, commander, incident, django_assert_max_num_queries
):
    url = reverse("incidents:detail", args=[incident.number])
    client.force_login(commander)
    client.get(url)  # warm the session and permission caches
    with django_assert_max_num_queries(60) as none_attached:
        client.get(url)
    for slug in ("database-failure", "service-failure", "complete-outage"):
        attached = procedure_attach(incident=incident, template=procedure(slug), by=commander)
        task_complete(task=attached.tasks.first(), by=commander)

    # One more query at most: the procedures' tasks, which are not fetched when there are none.
    with django_assert_max_num_queries(len(none_attached.captured_queries) + 1):
        response = client.get(url)
    assert panel_of(response.content.decode()).count('class="proc-count"') == 3


# --- Attaching --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("anonymous", 302), ("viewer", 403), ("responder", 403), ("commander", 302), ("admin", 302)],
    indirect=["persona"],
)
def test_only_commanders_attach(client, persona, expected, incident):
    if persona is not None:
        client.force_login(persona)
    response = client.post(attach_url(incident), {"template": procedure("database-failure").pk})
    assert response.status_code == expected
    attached = AttachedProcedure.objects.filter(incident=incident)
    if persona is None:
        assert "/login/" in response["Location"] and not attached.exists()
    elif expected == 302:
        page = reverse("incidents:detail", args=[incident.number])
        assert response["Location"] == f"{page}#procedure-{attached.get().pk}"
    else:
        assert not attached.exists()


def test_attaching_from_the_page_says_how_many_tasks_were_added(client, commander, incident):
    client.force_login(commander)
    response = client.post(
        attach_url(incident), {"template": procedure("database-failure").pk}, follow=True
    )
    assert "“Database failure” attached: 6 tasks added." in response.content.decode()


def test_attaching_twice_from_the_page_is_refused_with_a_message(client, commander, incident):
    procedure_attach(incident=incident, template=procedure("database-failure"), by=commander)
    client.force_login(commander)
    response = client.post(
        attach_url(incident), {"template": procedure("database-failure").pk}, follow=True
    )
    assert "is already attached to" in response.content.decode()
    assert AttachedProcedure.objects.filter(incident=incident).count() == 1


@pytest.mark.parametrize("template", ["", "abc", "999999", "standard-maintenance"])
def test_a_bad_choice_redirects_back_with_a_message(client, commander, incident, template):
    if template == "standard-maintenance":
        template = str(procedure(template).pk)
    client.force_login(commander)
    response = client.post(attach_url(incident), {"template": template}, follow=True)
    assert response.redirect_chain[-1][0].endswith("#panel-procedures")
    assert (
        "Choose" in response.content.decode() and "recovery procedure" in response.content.decode()
    )
    assert not AttachedProcedure.objects.exists()


def test_attaching_to_a_closed_incident_from_the_page_is_refused(client, commander, incident):
    incident_transition(incident=incident, to=Status.RESOLVED, by=commander)
    incident_transition(incident=incident, to=Status.CLOSED, by=commander)
    client.force_login(commander)
    response = client.post(
        attach_url(incident), {"template": procedure("service-failure").pk}, follow=True
    )
    assert f"{incident.ref} is closed." in response.content.decode()


def test_attach_is_post_only_and_404s_for_unknown_incidents(client, commander, incident):
    client.force_login(commander)
    assert client.get(attach_url(incident)).status_code == 405
    missing = reverse("maintenance:procedure-attach", args=[999999])
    assert client.post(missing, {"template": "1"}).status_code == 404


# --- Template pages ---------------------------------------------------------------------------

PAGE_TABLE = {
    "maintenance:template-list": dict(
        anonymous=302, viewer=200, responder=200, commander=200, admin=200
    ),
    "maintenance:template-detail": dict(
        anonymous=302, viewer=200, responder=200, commander=200, admin=200
    ),
    "maintenance:template-new": dict(
        anonymous=302, viewer=403, responder=403, commander=200, admin=200
    ),
    "maintenance:template-edit": dict(
        anonymous=302, viewer=403, responder=403, commander=200, admin=200
    ),
}


@pytest.mark.parametrize("name", PAGE_TABLE)
@pytest.mark.parametrize("persona", ROLES, indirect=True)
def test_template_pages_by_role(client, persona, name, request):
    if persona is not None:
        client.force_login(persona)
    args = [] if name.endswith(("list", "new")) else [procedure("database-failure").pk]
    response = client.get(reverse(name, args=args))
    assert response.status_code == PAGE_TABLE[name][request.node.callspec.params["persona"]]


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("anonymous", 302), ("viewer", 403), ("responder", 403), ("commander", 302), ("admin", 302)],
    indirect=["persona"],
)
def test_only_managers_delete_templates(client, persona, expected):
    if persona is not None:
        client.force_login(persona)
    target = procedure("service-failure")
    response = client.post(reverse("maintenance:template-delete", args=[target.pk]))
    assert response.status_code == expected
    exists = ChecklistTemplate.objects.filter(pk=target.pk).exists()
    assert exists == (expected != 302 or persona is None)


def test_the_list_shows_both_kinds_and_the_default(client, viewer):
    client.force_login(viewer)
    html = client.get(reverse("maintenance:template-list")).content.decode()
    assert "Standard maintenance" in html and "default" in html
    assert "4 before · 4 during · 4 after · 5 required" in html
    for name in ("Database failure", "Service failure", "Complete outage"):
        assert name in html
    assert "New checklist" not in html and "Edit" not in html


def test_the_detail_page_shows_steps_due_times_and_what_done_looks_like(client, viewer):
    client.force_login(viewer)
    template = procedure("database-failure")
    html = client.get(reverse("maintenance:template-detail", args=[template.pk])).content.decode()
    item = template.items.get(position=1)
    assert item.title in html and escape(item.description) in html
    assert "due 10 min after attaching" in html


def management(prefix: str, total: int, initial: int = 0) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def editor_post(name="Cache failure", kind="recovery", items=(), **template):
    data = {
        "template-name": name,
        "template-kind": kind,
        "template-description": template.get("description", ""),
        **management("items", len(items)),
    }
    if template.get("is_default"):
        data["template-is_default"] = "on"
    if template.get("active", True):
        data["template-active"] = "on"
    for index, item in enumerate(items):
        for field, value in item.items():
            if value is True:
                value = "on"
            data[f"items-{index}-{field}"] = value
    return data


def test_a_commander_creates_a_recovery_procedure_with_the_editor(client, commander):
    client.force_login(commander)
    response = client.post(
        reverse("maintenance:template-new"),
        editor_post(
            items=[
                {
                    "title": "Confirm the cache is down",
                    "incident_step": "assess",
                    "due_minutes": "5",
                },
                {"title": "Bypass the cache", "incident_step": "mitigate", "due_minutes": "20"},
                {"title": "", "incident_step": "", "due_minutes": ""},  # blank row: ignored
            ]
        ),
    )
    template = ChecklistTemplate.objects.get(name="Cache failure")
    assert response.status_code == 302
    assert response["Location"] == reverse("maintenance:template-detail", args=[template.pk])
    assert template.kind == ChecklistKind.RECOVERY and template.slug == "cache-failure"
    assert list(
        template.items.order_by("position").values_list(
            "phase", "title", "incident_step", "due_minutes"
        )
    ) == [
        (Phase.PROCEDURE, "Confirm the cache is down", "assess", 5),
        (Phase.PROCEDURE, "Bypass the cache", "mitigate", 20),
    ]


def test_the_editor_puts_errors_on_the_row_and_saves_nothing(client, commander):
    client.force_login(commander)
    response = client.post(
        reverse("maintenance:template-new"),
        editor_post(items=[{"title": "Bypass the cache", "incident_step": ""}]),
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose the playbook step the task lands in." in html
    assert "Some fields need attention" in html
    assert not ChecklistTemplate.objects.filter(name="Cache failure").exists()


def test_the_editor_refuses_a_name_in_use(client, commander):
    client.force_login(commander)
    response = client.post(
        reverse("maintenance:template-new"),
        editor_post(name="Database failure", items=[{"title": "x", "incident_step": "assess"}]),
    )
    assert response.status_code == 400
    assert "Already in use." in response.content.decode()


def test_adding_an_item_without_javascript_shows_one_more_row(client, commander):
    client.force_login(commander)
    data = editor_post(items=[{"title": "One", "incident_step": "assess"}])
    data["add_item"] = "1"
    response = client.post(reverse("maintenance:template-new"), data)
    assert response.status_code == 200
    assert 'name="items-1-title"' in response.content.decode()
    assert not ChecklistTemplate.objects.filter(name="Cache failure").exists()


def test_editing_keeps_the_rows_and_making_default_clears_the_other(client, commander):
    client.force_login(commander)
    quick = ChecklistTemplate.objects.create(
        name="Quick change", slug="quick-change", kind=ChecklistKind.MAINTENANCE
    )
    url = reverse("maintenance:template-edit", args=[quick.pk])
    assert 'name="items-0-title"' in client.get(url).content.decode()  # one blank row to fill

    response = client.post(
        url,
        editor_post(
            name="Quick change",
            kind="maintenance",
            is_default=True,
            items=[
                {"phase": "pre", "title": "Tell the team", "required": True, "position": "1"},
                {"phase": "post", "title": "Check the graphs", "position": "1"},
                # Left over from a recovery draft: dropped for a maintenance checklist.
                {"phase": "during", "title": "Watch", "incident_step": "assess"},
            ],
        ),
    )

    assert response.status_code == 302
    assert list(
        ChecklistTemplate.objects.filter(is_default=True).values_list("slug", flat=True)
    ) == ["quick-change"]
    assert sorted(quick.items.values_list("phase", "title", "required", "incident_step")) == [
        ("during", "Watch", False, ""),
        ("post", "Check the graphs", False, ""),
        ("pre", "Tell the team", True, ""),
    ]
    html = client.get(url).content.decode()
    assert 'value="Tell the team"' in html and 'value="Check the graphs"' in html


def test_unticking_the_default_on_the_page_explains_what_to_do(client, commander):
    client.force_login(commander)
    standard = ChecklistTemplate.objects.get(slug="standard-maintenance")
    items = [
        {"phase": item.phase, "title": item.title, "required": item.required}
        for item in standard.items.all()
    ]
    response = client.post(
        reverse("maintenance:template-edit", args=[standard.pk]),
        editor_post(name=standard.name, kind="maintenance", items=items),
    )
    assert response.status_code == 400
    assert "make another template the default instead" in response.content.decode()
    standard.refresh_from_db()
    assert standard.is_default and standard.items.count() == 12


def test_deleting_the_default_from_the_page_is_refused_with_a_message(client, commander):
    client.force_login(commander)
    standard = ChecklistTemplate.objects.get(slug="standard-maintenance")
    response = client.post(reverse("maintenance:template-delete", args=[standard.pk]), follow=True)
    assert "make another template the default first" in response.content.decode()
    assert ChecklistTemplate.objects.filter(pk=standard.pk).exists()
