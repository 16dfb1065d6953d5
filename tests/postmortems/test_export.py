"""The postmortem's Markdown download and print page: round trip of every section, the curated
timeline, frozen revisions, escaping of plain-text fields, XSS on the print page, headers, roles
and query counts."""

from __future__ import annotations

import html
from html.parser import HTMLParser

import markdown
import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from incidents.models import TimelineEvent
from postmortems import services
from postmortems.export import escape_inline, parse_sections, postmortem_markdown
from postmortems.models import SECTION_FIELDS
from tests.factories import ServiceFactory

from .export_support import (
    SECTION_TEXT,
    public_update,
    publish,
    resolved_incident,
    with_action_items,
    written_postmortem,
)

pytestmark = pytest.mark.django_db
ROLES = ("viewer", "responder", "commander", "admin")


def render(text: str) -> str:
    """Markdown as any later tool would render it: Python-Markdown with tables, no sanitizer."""
    return markdown.markdown(text, extensions=["tables"])


def section(md: str, heading: str) -> str:
    """The raw text under one `## heading` of an exported file."""
    after = md.split(f"\n## {heading}\n", 1)[1]
    return after.split("\n## ", 1)[0]


class Tags(HTMLParser):
    """Every start tag with its attributes, to assert on what a browser would make active."""

    def __init__(self, page: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


@pytest.fixture
def postmortem(commander):
    incident = resolved_incident(by=commander, services_=[ServiceFactory(name="Checkout")])
    return written_postmortem(incident, by=commander)


def export(client, postmortem, query=""):
    return client.get(reverse("postmortems:export-md", args=[postmortem.pk]) + query)


def print_page(client, postmortem, query=""):
    return client.get(reverse("postmortems:print", args=[postmortem.pk]) + query)


# --- escape_inline ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("# not a heading", r"\# not a heading"),
        ("a | b", r"a \| b"),
        ("- not a list", r"\- not a list"),
        ("12. not a list", r"12\. not a list"),
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("[x](javascript:alert(1))", r"\[x\](javascript:alert(1))"),
        ("*bold* _it_ `code` a\\b", r"\*bold\* \_it\_ \`code\` a\\b"),
        ("two\nlines  and\ttabs", "two lines and tabs"),
        ("R&D", "R&amp;D"),
    ],
)
def test_escape_inline_neutralises_markdown_and_html(text, escaped):
    assert escape_inline(text) == escaped


@given(st.text(alphabet=st.characters(exclude_categories=("Cs", "Cc")), max_size=80))
def test_escaped_text_renders_back_to_the_same_characters_and_no_tags(text):
    rendered = render(escape_inline(text))
    inner = rendered.removeprefix("<p>").removesuffix("</p>")
    assert "<" not in inner
    assert html.unescape(inner) == " ".join(text.split())


def test_escaped_pipes_stay_inside_their_table_cell():
    cells = render(f"| a | b |\n| --- | --- |\n| {escape_inline('x | y')} | z |")
    assert "<td>x | y</td>" in cells and cells.count("<td>") == 2


# --- The document -----------------------------------------------------------------------------


def test_every_section_survives_the_round_trip(postmortem):
    assert set(SECTION_TEXT) == set(SECTION_FIELDS)
    parsed = parse_sections(postmortem_markdown(postmortem))
    assert {field: parsed[field] for field in SECTION_FIELDS} == SECTION_TEXT


def test_empty_sections_say_not_written_and_read_back_empty(commander):
    incident = resolved_incident(by=commander)
    postmortem = written_postmortem(incident, by=commander, sections={"summary": "Short."})
    md = postmortem_markdown(postmortem)
    assert section(md, "Root cause").strip() == "_Not written._"
    parsed = parse_sections(md)
    assert parsed["summary"] == "Short." and parsed["root_cause"] == ""


def test_the_document_has_title_metadata_metrics_and_sections_in_order(postmortem):
    md = postmortem_markdown(postmortem)
    ref = postmortem.incident.ref
    assert md.startswith(f"# {ref}: Checkout returns 503 — postmortem\n")
    for line in ("**Severity:** P1", "**Services:** Checkout", "**State:** Draft"):
        assert line in md
    assert "| Time to resolve | 40 min |" in md and "| Time to detect | 4 min |" in md
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert headings[0] == "## Key metrics" and headings[-2:] == ["## Timeline", "## Action items"]
    assert headings.index("## Summary") < headings.index("## Lessons")


def test_the_timeline_lists_visible_events_in_order_and_not_hidden_ones(postmortem, commander):
    incident = postmortem.incident
    public_update(incident, "Checkout is working again.", minutes=45)
    hidden = public_update(incident, "Posted to the wrong incident.", minutes=46)
    noted = public_update(incident, "We will publish a postmortem.", minutes=50)
    services.curation_set(postmortem=postmortem, event=hidden, by=commander, hidden=True)
    services.curation_set(
        postmortem=postmortem, event=noted, by=commander, annotation="Rolled back, *not* fixed."
    )
    timeline = section(postmortem_markdown(postmortem), "Timeline")
    assert "wrong incident" not in timeline
    order = [
        "Detected and declared",
        "Status → acknowledged",
        "Status → investigating",
        "Status → mitigating",
        "Status → resolved",
        "Checkout is working again",
        "We will publish a postmortem",
    ]
    positions = [timeline.index(text) for text in order]
    assert positions == sorted(positions)
    assert "    > Rolled back, *not* fixed." in timeline
    assert TimelineEvent.objects.filter(pk=hidden.pk).exists()  # only hidden in the postmortem


def test_a_published_revision_exports_the_same_after_the_live_text_changes(
    client, postmortem, commander, viewer
):
    with_action_items(postmortem, by=commander)
    publish(postmortem, by=commander)
    client.force_login(viewer)
    published = export(client, postmortem, "?revision=1").content
    assert export(client, postmortem).content == published  # same text while nothing changed
    services.postmortem_update(postmortem=postmortem, by=commander, summary="Rewritten.")
    services.action_item_create(postmortem=postmortem, title="A later item", by=commander)
    assert export(client, postmortem, "?revision=1").content == published
    live = export(client, postmortem).content.decode()
    assert "Rewritten." in live and "**Revision:** 2" in live and "A later item" in live
    assert b"A later item" not in published
    printed = print_page(client, postmortem, "?revision=1").content.decode()
    assert "Rewritten." not in printed and "Checkout returned <strong>503</strong>" in printed
    assert export(client, postmortem, "?revision=2").status_code == 404  # not published yet


def test_action_items_are_a_table_whose_cells_hold_their_pipes(postmortem, commander):
    with_action_items(
        postmortem, by=commander, owner=commander, titles=("Alert | page on saturation", "Docs")
    )
    table = render(section(postmortem_markdown(postmortem), "Action items"))
    rows = table.split("<tr>")[2:]  # after the header row
    assert len(rows) == 2 and all(row.count("<td>") == 6 for row in rows)
    assert "<td>Alert | page on saturation</td>" in rows[0]
    assert '<a href="https://tickets.example.com/browse/OPS-140">' in rows[0]


# --- XSS --------------------------------------------------------------------------------------

SCRIPT = "<script>alert('x')</script>"
IMG = '<img src="x" onerror="alert(1)">'
JS_LINK = "[click me](javascript:alert(1))"


@pytest.fixture
def hostile(commander):
    incident = resolved_incident(by=commander, title=f"Title {SCRIPT} {IMG}")
    public_update(incident, f"Body {IMG}", minutes=5)
    postmortem = written_postmortem(
        incident,
        by=commander,
        sections={"summary": f"{SCRIPT}\n\n{IMG}\n\n{JS_LINK}", "root_cause": IMG},
    )
    services.action_item_create(
        postmortem=postmortem,
        title=f"{IMG} | {SCRIPT}",
        by=commander,
        external_url="javascript:alert(1)",
    )
    return postmortem


def test_the_print_page_has_no_active_html_from_what_people_wrote(client, hostile, viewer):
    client.force_login(viewer)
    page = print_page(client, hostile).content.decode()
    tags = Tags(page).tags
    scripts = [attrs.get("src", "") for tag, attrs in tags if tag == "script"]
    assert len(scripts) == 1 and scripts[0].endswith("js/print-button.js")
    assert not [tag for tag, _ in tags if tag in ("img", "iframe", "object", "svg")]
    assert not [(t, a) for t, a in tags if any(name.startswith("on") for name in a)]
    hrefs = [attrs.get("href", "") for _tag, attrs in tags]
    assert not [href for href in hrefs if "javascript" in href.lower()]
    assert "click me" in page  # the link text stays, the link goes
    assert "&lt;script&gt;" in page  # the title, shown as text


def test_the_markdown_keeps_plain_text_fields_inert(hostile):
    md = postmortem_markdown(hostile)
    rendered = render(md.split("\n## Summary\n")[0])  # title, metadata, metrics
    assert "<script" not in rendered and "<img" not in rendered
    actions = render(section(md, "Action items"))
    assert "<img" not in actions and "<script" not in actions and "javascript" not in actions
    assert actions.split("<tr>")[2].count("<td>") == 6
    timeline = render(section(md, "Timeline"))
    assert "<img" not in timeline


# --- Responses --------------------------------------------------------------------------------


def test_the_download_is_a_markdown_attachment_named_after_incident_and_revision(
    client, postmortem, commander, viewer
):
    client.force_login(viewer)
    number = postmortem.incident.number
    response = export(client, postmortem)
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="INC-{number}-postmortem-r1.md"'
    )
    publish(postmortem, by=commander)
    services.postmortem_update(postmortem=postmortem, by=commander, summary="Second take.")
    assert export(client, postmortem)["Content-Disposition"].endswith(
        f'filename="INC-{number}-postmortem-r2.md"'
    )
    assert export(client, postmortem, "?revision=1")["Content-Disposition"].endswith(
        f'filename="INC-{number}-postmortem-r1.md"'
    )


def test_the_print_page_is_standalone_with_a_header_and_print_rules(client, postmortem, viewer):
    client.force_login(viewer)
    response = print_page(client, postmortem)
    page = response.content.decode()
    assert response.status_code == 200
    assert 'class="mainnav"' not in page and "css/postmortem-print.css" in page
    assert f"{postmortem.incident.ref} · Postmortem" in page and "Revision 1" in page
    assert "Not published" not in page and "draft, not published" in page


@pytest.mark.parametrize("persona", ["anonymous", *ROLES], indirect=True)
@pytest.mark.parametrize("name", ["postmortems:export-md", "postmortems:print"])
def test_role_table(client, postmortem, persona, name):
    if persona is not None:
        client.force_login(persona)
    response = client.get(reverse(name, args=[postmortem.pk]))
    if persona is None:
        assert response.status_code == 302 and "/login/" in response["Location"]
    else:
        assert response.status_code == 200


@pytest.mark.parametrize("name", ["postmortems:export-md", "postmortems:print"])
@pytest.mark.parametrize(
    ("target", "query", "status"),
    [
        ("missing", "", 404),
        ("self", "?revision=1", 404),
        ("self", "?revision=0", 404),
        ("self", "?revision=99999999999999999999", 404),
        ("self", "?revision=x", 400),
        ("self", "?revision=-1", 400),
    ],
)
def test_unknown_postmortems_and_revisions_are_not_found(
    client, postmortem, viewer, name, target, query, status
):
    client.force_login(viewer)
    pk = postmortem.pk + 1000 if target == "missing" else postmortem.pk
    assert client.get(reverse(name, args=[pk]) + query).status_code == status


@pytest.mark.parametrize("name", ["postmortems:export-md", "postmortems:print"])
@pytest.mark.parametrize("events", [1, 30])
@pytest.mark.parametrize("published", [False, True], ids=["live", "frozen"])
def test_queries_do_not_grow_with_the_timeline(
    client, commander, viewer, django_assert_max_num_queries, name, events, published
):
    incident = resolved_incident(by=commander, services_=[ServiceFactory(), ServiceFactory()])
    for n in range(events):
        public_update(incident, f"Update {n}", minutes=45 + n)
    postmortem = with_action_items(
        written_postmortem(incident, by=commander), by=commander, titles=("One", "Two", "Three")
    )
    if published:
        publish(postmortem, by=commander)
    client.force_login(viewer)
    with django_assert_max_num_queries(MAX_QUERIES[published]):
        response = client.get(reverse(name, args=[postmortem.pk]))
    assert response.status_code == 200
    assert f"Update {events - 1}" in response.content.decode()


# Session, user, permissions (2), the postmortem (with incident and owner); then the frozen
# revision, or the live parts: services, curation, events, action items.
MAX_QUERIES = {False: 9, True: 6}
