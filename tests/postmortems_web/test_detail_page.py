"""The postmortem page: sections as sanitized Markdown, hints, key metrics, timeline curation
(without touching the incident's timeline), review controls, frozen publications and revisions,
action items and their errors."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from incidents.models import EventKind, TimelineEvent
from incidents.services import note_add
from postmortems import services
from postmortems.models import ActionItem, ActionStatus, PostmortemRevision, PostmortemState

from .support import published, written

pytestmark = pytest.mark.django_db

XSS = (
    '**bold** <script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror="alert(3)">'
    ' <a href="https://example.com" onclick="alert(4)">ok</a>'
)


def page(client, user, postmortem, url_name="postmortems:detail", *args) -> str:
    client.force_login(user)
    response = client.get(reverse(url_name, args=[postmortem.pk, *args]))
    assert response.status_code == 200
    return response.content.decode()


def section(html: str, field: str) -> str:
    match = re.search(
        rf'<section class="pm-section[^"]*" id="section-{field}".*?</section>', html, re.S
    )
    assert match, f"no section {field}"
    return match.group(0)


def timeline_of(html: str) -> str:
    match = re.search(r'<section class="card pm-timeline".*?</section>', html, re.S)
    return match.group(0) if match else ""


def curate_url(postmortem, event) -> str:
    return reverse("postmortems:curate", args=[postmortem.pk, event.pk])


def incident_timeline(incident) -> list[tuple]:
    return list(
        TimelineEvent.objects.filter(incident=incident)
        .order_by("seq")
        .values_list("pk", "seq", "kind", "body", "data", "visibility")
    )


# --- The document -----------------------------------------------------------------------------


def test_sections_render_as_markdown_with_scripts_handlers_and_js_links_removed(
    client, viewer, commander, postmortem
):
    written(postmortem, commander, summary=XSS, lessons="- one\n- two")
    html = page(client, viewer, postmortem)
    summary = section(html, "summary")
    assert "<strong>bold</strong>" in summary
    assert "<script>alert(1)" not in html and "javascript:alert" not in html
    assert "onerror" not in html and "onclick" not in html
    assert '<a href="https://example.com" rel="noopener noreferrer nofollow">ok</a>' in summary
    assert "<li>one</li>" in section(html, "lessons")


def test_empty_sections_show_the_hint_to_writers_and_not_written_to_readers(
    client, viewer, responder, postmortem
):
    writer_view = section(page(client, responder, postmortem), "root_cause")
    assert "The underlying cause, not the trigger." in writer_view
    assert "pm-hint-text" in writer_view
    reader_view = section(page(client, viewer, postmortem), "root_cause")
    assert "Not written." in reader_view and "underlying cause" not in reader_view


def test_the_header_shows_incident_owner_state_revision_and_due(
    client, viewer, commander, postmortem
):
    html = page(client, viewer, postmortem)
    incident = postmortem.incident
    assert f'href="{reverse("incidents:detail", args=[incident.number])}"' in html
    assert 'class="sev sev-p1"' in html and "Checkout" in html
    assert 'class="pmstate pmstate-draft">Draft<' in html
    assert "revision 1" in html and commander.display_name in html
    # Resolved 1 h 20 min ago, due 48 h after resolution.
    assert "due in 47 h" in html


def test_key_metrics_come_from_the_incident_times(client, viewer, postmortem):
    html = page(client, viewer, postmortem)
    # Declared, then acknowledged after 10 min, mitigating after 30, resolved after 40.
    assert re.search(r'data-metric="time_to_acknowledge".*?>10 min<', html, re.S)
    assert re.search(r'data-metric="time_to_mitigate".*?>30 min<', html, re.S)
    assert re.search(r'data-metric="time_to_resolve".*?>40 min<', html, re.S)
    assert re.search(r'data-metric="time_to_detect".*?>—<', html, re.S)


def test_export_and_print_links_are_on_the_page(client, viewer, postmortem):
    html = page(client, viewer, postmortem)
    assert f'href="{reverse("postmortems:export-md", args=[postmortem.pk])}"' in html
    assert f'href="{reverse("postmortems:print", args=[postmortem.pk])}"' in html


# --- Review controls --------------------------------------------------------------------------


def _buttons(html: str) -> set[str]:
    return set(re.findall(r'data-action="([a-z]+)"', html))


def test_controls_follow_state_and_permission(client, viewer, responder, commander, postmortem):
    assert _buttons(page(client, viewer, postmortem)) == set()
    assert _buttons(page(client, responder, postmortem)) == {"submit"}
    postmortem = written(postmortem, commander)
    services.postmortem_submit(postmortem=postmortem, by=responder)
    assert _buttons(page(client, responder, postmortem)) == set()
    assert _buttons(page(client, commander, postmortem)) == {"review"}
    assert "Send back" in page(client, commander, postmortem)
    services.postmortem_review(postmortem=postmortem, by=commander)
    assert _buttons(page(client, commander, postmortem)) == {"publish"}


def test_submitting_without_summary_and_root_cause_is_a_400_naming_them(
    client, responder, postmortem
):
    client.force_login(responder)
    response = client.post(reverse("postmortems:submit", args=[postmortem.pk]))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Write at least the summary and the root cause" in html
    assert "#id_root_cause" in html


def test_publishing_before_review_is_a_409(client, commander, postmortem):
    postmortem = written(postmortem, commander)
    services.postmortem_submit(postmortem=postmortem, by=commander)
    client.force_login(commander)
    response = client.post(reverse("postmortems:publish", args=[postmortem.pk]))
    assert response.status_code == 409
    assert "must mark it reviewed" in response.content.decode()


def test_sending_back_returns_to_draft_with_the_reason_on_the_incident_timeline(
    client, commander, postmortem
):
    postmortem = written(postmortem, commander)
    services.postmortem_submit(postmortem=postmortem, by=commander)
    client.force_login(commander)
    response = client.post(
        reverse("postmortems:return", args=[postmortem.pk]), {"reason": "Dig below the trigger."}
    )
    assert response.status_code == 302
    postmortem.refresh_from_db()
    assert postmortem.state == PostmortemState.DRAFT
    assert postmortem.incident.events.filter(body__contains="Dig below the trigger.").exists()


# --- Publication and revisions ----------------------------------------------------------------


def test_a_published_page_shows_the_frozen_text_and_editing_opens_revision_2(
    client, commander, viewer, postmortem
):
    postmortem = published(postmortem, commander, summary="First account of the outage.")
    html = page(client, commander, postmortem)
    assert "pm-frozen-note" in html and "First account of the outage." in html
    assert "Edit (opens revision 2)" in html
    assert 'action="' + curate_url(postmortem, postmortem.incident.events.first()) not in html

    client.force_login(commander)
    edit = reverse("postmortems:edit", args=[postmortem.pk])
    form = client.get(edit).content.decode()
    assert "Saving changes opens revision 2" in form
    data = {
        "owner": commander.pk,
        "due_at": postmortem.due_at.strftime("%Y-%m-%dT%H:%M"),
        "summary": "Second, better account.",
        "root_cause": postmortem.root_cause,
    }
    response = client.post(edit, data, follow=True)
    assert response.status_code == 200
    assert "Revision 2 opened as a draft; revision 1 stays published." in response.content.decode()

    postmortem.refresh_from_db()
    assert (postmortem.state, postmortem.revision) == (PostmortemState.DRAFT, 2)
    current = page(client, viewer, postmortem)
    assert "Second, better account." in current
    assert f'href="{reverse("postmortems:revision", args=[postmortem.pk, 1])}"' in current
    first = page(client, viewer, postmortem, "postmortems:revision", 1)
    assert "First account of the outage." in first and "Second, better account." not in first
    assert "read-only" in first and "<form" not in first.split('<main id="main"')[1]
    assert PostmortemRevision.objects.get(postmortem=postmortem, number=1).content["sections"][
        "summary"
    ] == ("First account of the outage.")


def test_saving_a_published_postmortem_untouched_opens_no_revision(client, commander, postmortem):
    postmortem = published(postmortem, commander, summary="Line one.\nLine two.")
    client.force_login(commander)
    edit = reverse("postmortems:edit", args=[postmortem.pk])
    html = client.get(edit).content.decode()
    fields = dict(re.findall(r'<textarea name="([a-z_]+)"[^>]*>\n?(.*?)</textarea>', html, re.S))
    data = {name: value.replace("\n", "\r\n") for name, value in fields.items()}
    data.update(owner=commander.pk, due_at=postmortem.due_at.strftime("%Y-%m-%dT%H:%M"))
    response = client.post(edit, data, follow=True)
    assert "Nothing changed." in response.content.decode()
    postmortem.refresh_from_db()
    assert (postmortem.state, postmortem.revision) == (PostmortemState.PUBLISHED, 1)


def test_a_published_revision_page_neutralises_xss_too(client, viewer, commander, postmortem):
    postmortem = published(postmortem, commander, summary=XSS)
    html = page(client, viewer, postmortem, "postmortems:revision", 1)
    assert "<strong>bold</strong>" in html
    assert "<script>alert(1)" not in html and "javascript:alert" not in html
    assert "onerror" not in html and "onclick" not in html


def test_bad_edit_input_is_a_400_with_field_errors(client, commander, postmortem):
    client.force_login(commander)
    response = client.post(
        reverse("postmortems:edit", args=[postmortem.pk]),
        {"due_at": "tomorrow-ish", "owner": "999999", "affected_users": "x" * 500},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert html.count('class="field-error"') == 3


# --- Timeline curation ------------------------------------------------------------------------


def test_hiding_and_annotating_change_the_postmortem_not_the_incident_timeline(
    client, responder, viewer, postmortem
):
    incident = postmortem.incident
    before = incident_timeline(incident)
    declared = incident.events.get(kind=EventKind.DECLARED)
    acknowledged = incident.events.get(kind=EventKind.STATUS_CHANGE, data__to="acknowledged")
    client.force_login(responder)

    assert client.post(curate_url(postmortem, declared), {"hidden": "1"}).status_code == 302
    response = client.post(
        curate_url(postmortem, acknowledged), {"annotation": "Paged <b>twice</b>: first missed."}
    )
    assert response["Location"].endswith(f"#event-{acknowledged.pk}")

    assert incident_timeline(incident) == before
    writer_view = timeline_of(page(client, responder, postmortem))
    assert f'id="event-{declared.pk}"' in writer_view and "pm-event-hidden" in writer_view
    assert "Show<span" in writer_view
    assert "Paged &lt;b&gt;twice&lt;/b&gt;: first missed." in writer_view
    reader_view = timeline_of(page(client, viewer, postmortem))
    assert f'id="event-{declared.pk}"' not in reader_view
    assert "Paged &lt;b&gt;twice&lt;/b&gt;" in reader_view and "<form" not in reader_view


def test_a_note_left_out_by_the_generator_can_be_included_and_left_out_again(
    client, responder, commander, postmortem
):
    note = note_add(incident=postmortem.incident, body="Rolled back 4.2 at 10:12.", by=commander)
    client.force_login(responder)
    html = page(client, responder, postmortem)
    skipped = re.search(r'<details class="pm-skipped">.*?</details>', html, re.S).group(0)
    assert "Rolled back 4.2" in skipped and "Include<span" in skipped

    client.post(curate_url(postmortem, note), {"included": "1"})
    timeline = timeline_of(page(client, responder, postmortem))
    assert "added by hand" in timeline and "Leave out<span" in timeline
    assert re.search(rf'<li class="pm-event[^"]*" id="event-{note.pk}"', timeline)

    client.post(curate_url(postmortem, note), {"included": "0"})
    timeline = timeline_of(page(client, responder, postmortem))
    assert not re.search(rf'<li class="pm-event[^"]*" id="event-{note.pk}"', timeline)


def test_curation_answers_htmx_with_the_timeline_section_only(client, responder, postmortem):
    declared = postmortem.incident.events.get(kind=EventKind.DECLARED)
    client.force_login(responder)
    response = client.post(
        curate_url(postmortem, declared), {"hidden": "1"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card pm-timeline" id="pm-timeline"')
    assert "<html" not in html and "pm-event-hidden" in html


@pytest.mark.parametrize(
    "data",
    [{}, {"hidden": "maybe"}, {"annotation": "x" * 2001}],
    ids=["nothing", "not-a-choice", "too-long"],
)
def test_bad_curation_is_a_400_never_a_500(client, responder, postmortem, data):
    declared = postmortem.incident.events.get(kind=EventKind.DECLARED)
    client.force_login(responder)
    assert client.post(curate_url(postmortem, declared), data).status_code == 400
    htmx = client.post(curate_url(postmortem, declared), data, headers={"HX-Request": "true"})
    assert htmx.status_code == 400 and htmx["HX-Refresh"] == "true"


# --- Action items -----------------------------------------------------------------------------


def test_writers_add_action_items_that_show_in_the_table(client, responder, postmortem, checkout):
    client.force_login(responder)
    response = client.post(
        reverse("postmortems:action-item-add", args=[postmortem.pk]),
        {
            "title": "Alert on pool saturation",
            "owner": responder.pk,
            "due_date": "2030-01-31",
            "priority": "high",
            "external_url": "https://tracker.example.com/OPS-12",
        },
    )
    item = ActionItem.objects.get(postmortem=postmortem)
    assert response["Location"].endswith(f"#item-{item.pk}")
    assert item.service == checkout and item.created_by == responder
    html = page(client, responder, postmortem)
    row = re.search(rf'<tr id="item-{item.pk}".*?</tr>', html, re.S).group(0)
    assert "Alert on pool saturation" in row and "31 Jan 2030" in row
    assert 'href="https://tracker.example.com/OPS-12"' in row and "High" in row


def test_an_action_item_without_a_title_is_a_400(client, responder, postmortem):
    client.force_login(responder)
    response = client.post(
        reverse("postmortems:action-item-add", args=[postmortem.pk]),
        {"title": "", "priority": "urgent", "external_url": "javascript:alert(1)"},
    )
    assert response.status_code == 400
    assert not ActionItem.objects.exists()
    assert "The action item was not added" in response.content.decode()


def test_wont_do_without_a_reason_is_a_400_with_the_message(client, responder, postmortem):
    item = services.action_item_create(postmortem=postmortem, title="Shard the DB", by=responder)
    client.force_login(responder)
    url = reverse("postmortems:action-item-status", args=[item.pk])
    response = client.post(url, {"status": "wont_do", "reason": "  "})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Say why it won&#x27;t be done." in html
    assert re.search(rf'<tr id="item-{item.pk}".*?<details class="pm-disclosure" open>', html, re.S)
    item.refresh_from_db()
    assert item.status == ActionStatus.OPEN

    response = client.post(url, {"status": "wont_do", "reason": "Replaced by the new pool."})
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.status, item.wont_do_reason) == (ActionStatus.WONT_DO, "Replaced by the new pool.")
    assert "Won't do: Replaced by the new pool." in page(client, responder, postmortem)


def test_an_unknown_status_is_a_400(client, responder, postmortem):
    item = services.action_item_create(postmortem=postmortem, title="Shard the DB", by=responder)
    client.force_login(responder)
    response = client.post(
        reverse("postmortems:action-item-status", args=[item.pk]), {"status": "abandoned"}
    )
    assert response.status_code == 400


def test_action_item_text_is_escaped(client, viewer, commander, postmortem):
    services.action_item_create(
        postmortem=postmortem,
        title='<img src=x onerror="alert(1)">',
        external_url="javascript:alert(2)",
        by=commander,
    )
    html = page(client, viewer, postmortem)
    assert "<img src=x" not in html and "javascript:alert" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
