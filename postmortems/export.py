"""A postmortem as one portable document: the Markdown download and the data of the print page.

`document()` reads either the live postmortem (a draft or in review) or a frozen
`PostmortemRevision.content` (a published postmortem, or any revision asked for) into one
`Document`, so the Markdown and the print page show the same thing, and an export of revision n
is exactly what was published as n, whatever happened to the live text since.

Two kinds of text go into the Markdown. The sections (and timeline annotations) are written in
Markdown by the authors and go in as written. Everything else — titles, labels, timeline bodies,
action item titles, usernames — is plain text: `escape_inline()` flattens it to one line,
backslash-escapes what Markdown would read as structure and turns `<`, `>`, `&` into entities,
so it can neither break the document (a `|` in a table cell, a leading `#`) nor become HTML when
the file is rendered later by whatever tool.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from urllib.parse import quote, urlsplit

from . import metrics, timeline
from .models import (
    SECTIONS,
    ActionPriority,
    ActionStatus,
    Postmortem,
    PostmortemRevision,
    PostmortemState,
)

NOT_WRITTEN = "_Not written._"
CUSTOMER_SUMMARY = ("customer_summary", "Customer-facing summary")
METRIC_LABELS = (
    ("time_to_detect", "Time to detect"),
    ("time_to_acknowledge", "Time to acknowledge"),
    ("time_to_mitigate", "Time to mitigate"),
    ("time_to_resolve", "Time to resolve"),
    ("impact_duration", "Impact duration"),
)
# Every `##` heading the exporter writes: `parse_sections` splits on these and nothing else, so
# an author's own `## Background` stays inside the section it was written in.
HEADINGS = (
    "Key metrics",
    *(heading for _field, heading, _hint in SECTIONS),
    CUSTOMER_SUMMARY[1],
    "Timeline",
    "Action items",
)
FIELD_OF_HEADING = {heading: field for field, heading, _hint in SECTIONS}
FIELD_OF_HEADING[CUSTOMER_SUMMARY[1]] = CUSTOMER_SUMMARY[0]


# --- Escaping ---------------------------------------------------------------------------------

_HTML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
# Inline structure: code, emphasis, links/images, table cells, headings, and the backslash
# itself. Python-Markdown (and CommonMark) unescape exactly these, so the text reads unchanged.
_STRUCTURE = re.compile(r"([\\`*_\[\]|#])")
# What would start a list item if the text ever began a line: "- ", "+ ", "1. ", "1) ".
_LEADING_BULLET = re.compile(r"^([-+])")
_LEADING_NUMBER = re.compile(r"^(\d+)([.)])")


def escape_inline(text: str) -> str:
    """Plain text as one inert line of Markdown that renders back to the same characters."""
    line = " ".join(str(text or "").split())
    line = _STRUCTURE.sub(r"\\\1", line.translate(_HTML))
    line = _LEADING_BULLET.sub(r"\\\1", line)
    return _LEADING_NUMBER.sub(r"\1\\\2", line)


def safe_url(url: str) -> str:
    """An http(s) URL fit for a Markdown link destination, or "" for anything else.

    Other schemes (`javascript:`, `data:`) are dropped; spaces, parentheses, `|`, `<`, `>` and
    quotes are percent-encoded so they can end neither the link nor a table cell."""
    url = (url or "").strip()
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return ""
    if scheme not in ("http", "https"):
        return ""
    return quote(url, safe=":/?#[]@!$&'*+,;=%~")


def format_minutes(minutes: float | None) -> str:
    if minutes is None:
        return "—"
    if minutes < 60:
        return f"{minutes:g} min"
    hours, rest = divmod(round(minutes), 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def format_utc(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


# --- The document -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineLine:
    at: datetime
    label: str
    body: str
    author: str
    annotation: str  # Markdown


@dataclass(frozen=True)
class ActionLine:
    title: str
    owner: str
    due_date: date | None
    priority: str
    status: str
    wont_do_reason: str
    external_url: str

    @property
    def priority_label(self) -> str:
        return _label(ActionPriority, self.priority)

    @property
    def status_label(self) -> str:
        label = _label(ActionStatus, self.status)
        return f"{label} ({self.wont_do_reason})" if self.wont_do_reason else label

    @property
    def link(self) -> str:
        return safe_url(self.external_url)

    @property
    def link_text(self) -> str:
        return self.link.split("://", 1)[-1]


def _label(choices, value: str) -> str:
    try:
        return choices(value).label
    except ValueError:
        return value


@dataclass(frozen=True)
class Document:
    postmortem_id: int
    incident_number: int
    ref: str
    title: str
    severity: str
    services: tuple[str, ...]
    owner: str
    state: str  # display label
    revision: int
    frozen: bool  # True: a published revision's content, not the live text
    due_at: datetime | None
    published_at: datetime | None
    published_by: str
    impact_started_at: datetime | None
    affected_users: str
    metrics: dict
    sections: dict[str, str]  # SECTION_FIELDS + customer_summary → Markdown
    timeline: tuple[TimelineLine, ...]
    action_items: tuple[ActionLine, ...]

    def section_rows(self) -> list[tuple[str, str, str]]:
        """(field, heading, Markdown) in document order; the customer summary only if written."""
        rows = [(field, heading, self.sections.get(field, "")) for field, heading, _ in SECTIONS]
        if self.sections.get(CUSTOMER_SUMMARY[0]):
            rows.append((*CUSTOMER_SUMMARY, self.sections[CUSTOMER_SUMMARY[0]]))
        return rows

    def metric_rows(self) -> list[tuple[str, str]]:
        return [(label, format_minutes(self.metrics.get(key))) for key, label in METRIC_LABELS]

    @property
    def filename(self) -> str:
        return f"{self.ref}-postmortem-r{self.revision}.md"


def _text(value: str) -> str:
    """Author Markdown with one newline convention (browsers post CRLF) and no outer blanks."""
    return (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def document(postmortem: Postmortem, revision: int | None = None) -> Document:
    """The frozen content of published revision `revision`, else the current text: the live
    row while it is a draft or in review, the frozen publication once published (what was
    published is what is exported, whatever the row holds).

    Raises PostmortemRevision.DoesNotExist for a revision that was never published. Pass a
    postmortem loaded with `select_related("incident", "owner")` to keep the query count flat."""
    if revision is None and not postmortem.is_published:
        return _live(postmortem)
    if revision is None:
        revision = postmortem.revision
    frozen = postmortem.revisions.select_related("published_by").get(number=revision)
    return _frozen(postmortem, frozen)


def _live(postmortem: Postmortem) -> Document:
    incident = postmortem.incident
    sections = {field: _text(getattr(postmortem, field)) for field, _h, _hint in SECTIONS}
    sections[CUSTOMER_SUMMARY[0]] = _text(postmortem.customer_summary)
    items = postmortem.action_items.select_related("owner").order_by("id")
    return Document(
        postmortem_id=postmortem.pk,
        incident_number=incident.number,
        ref=incident.ref,
        title=incident.title,
        severity=incident.severity,
        services=tuple(service.name for service in incident.services.all()),
        owner=postmortem.owner.get_username() if postmortem.owner else "",
        state=postmortem.get_state_display(),
        revision=postmortem.revision,
        frozen=False,
        due_at=postmortem.due_at,
        published_at=None,
        published_by="",
        impact_started_at=postmortem.impact_started_at,
        affected_users=postmortem.affected_users,
        metrics=metrics.key_metrics(postmortem).as_dict(),
        sections=sections,
        timeline=tuple(
            TimelineLine(e.at, e.label, e.body, e.author, _text(e.annotation))
            for e in timeline.entries(postmortem, include_hidden=False)
        ),
        action_items=tuple(
            ActionLine(
                title=item.title,
                owner=item.owner.get_username() if item.owner else "",
                due_date=item.due_date,
                priority=item.priority,
                status=item.status,
                wont_do_reason=item.wont_do_reason,
                external_url=item.external_url,
            )
            for item in items
        ),
    )


def _frozen(postmortem: Postmortem, frozen: PostmortemRevision) -> Document:
    """Everything from the snapshot taken at publication; only the due date (a deadline of
    the postmortem, not part of its text) is read from the live row."""
    content = frozen.content
    incident = content.get("incident", {})
    sections = {field: _text(text) for field, text in content.get("sections", {}).items()}
    sections[CUSTOMER_SUMMARY[0]] = _text(content.get("customer_summary", ""))
    return Document(
        postmortem_id=postmortem.pk,
        incident_number=postmortem.incident.number,
        # The incident's number never changes; reading it live keeps `ref` to "INC-<n>", which
        # the filename and the print page's @page header rely on.
        ref=postmortem.incident.ref,
        title=incident.get("title", ""),
        severity=incident.get("severity", ""),
        services=tuple(incident.get("services", ())),
        owner=content.get("owner", ""),
        state=PostmortemState.PUBLISHED.label,
        revision=frozen.number,
        frozen=True,
        # Revisions frozen before `due_at` was part of the snapshot fall back to the live row.
        due_at=_when(content.get("due_at")) or postmortem.due_at,
        published_at=frozen.published_at,
        published_by=frozen.published_by.get_username() if frozen.published_by else "",
        impact_started_at=_when(content.get("impact_started_at")),
        affected_users=content.get("affected_users", ""),
        metrics=content.get("metrics", {}),
        sections=sections,
        timeline=tuple(
            TimelineLine(
                at=datetime.fromisoformat(entry["at"]),
                label=entry.get("label", ""),
                body=entry.get("body", ""),
                author=entry.get("author", ""),
                annotation=_text(entry.get("annotation", "")),
            )
            for entry in content.get("timeline", ())
            if not entry.get("hidden")
        ),
        action_items=tuple(
            ActionLine(
                title=item.get("title", ""),
                owner=item.get("owner", ""),
                due_date=date.fromisoformat(item["due_date"]) if item.get("due_date") else None,
                priority=item.get("priority", ""),
                status=item.get("status", ""),
                wont_do_reason=item.get("wont_do_reason", ""),
                external_url=item.get("external_url", ""),
            )
            for item in content.get("action_items", ())
        ),
    )


# --- Markdown ---------------------------------------------------------------------------------


def postmortem_markdown(postmortem: Postmortem, revision: int | None = None) -> str:
    """The whole postmortem (or its published revision `revision`) as one Markdown file."""
    return document_markdown(document(postmortem, revision))


def document_markdown(doc: Document) -> str:
    e = escape_inline
    published = format_utc(doc.published_at)
    if doc.published_by:
        published += f" by {e(doc.published_by)}"
    lines = [
        f"# {e(doc.ref)}: {e(doc.title)} — postmortem",
        "",
        f"- **Severity:** {e(doc.severity)}",
        f"- **Services:** {e(', '.join(doc.services)) or '—'}",
        f"- **Owner:** {e(doc.owner) or 'unassigned'}",
        f"- **State:** {e(doc.state)}",
        f"- **Revision:** {doc.revision}",
        f"- **Due:** {format_utc(doc.due_at)}",
        f"- **Published:** {published}",
        f"- **Impact started:** {format_utc(doc.impact_started_at)}",
    ]
    if doc.affected_users:
        lines.append(f"- **Affected users:** {e(doc.affected_users)}")
    lines += ["", "## Key metrics", "", "| Metric | Duration |", "| --- | --- |"]
    lines += [f"| {label} | {value} |" for label, value in doc.metric_rows()]
    for _field, heading, text in doc.section_rows():
        lines += ["", f"## {heading}", "", text or NOT_WRITTEN]
    lines += ["", "## Timeline", ""]
    lines += _timeline_markdown(doc.timeline) or ["_No events._"]
    lines += ["", "## Action items", ""]
    lines += _actions_markdown(doc.action_items) or ["_None._"]
    return "\n".join(lines) + "\n"


def _timeline_markdown(entries) -> list[str]:
    lines = []
    for entry in entries:
        line = f"- **{format_utc(entry.at)}** — {escape_inline(entry.label)}"
        if entry.body.strip():
            line += f": {escape_inline(entry.body)}"
        if entry.author:
            line += f" ({escape_inline(entry.author)})"
        lines.append(line)
        if entry.annotation:
            # Indented four spaces (Python-Markdown's list rule; CommonMark accepts it too): the
            # quote belongs to this entry.
            lines.append("")
            lines += [f"    > {row}".rstrip() for row in entry.annotation.split("\n")]
            lines.append("")
    return lines


def _actions_markdown(items) -> list[str]:
    if not items:
        return []
    lines = [
        "| Title | Owner | Due | Priority | Status | Link |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for item in items:
        link = f"[{escape_inline(item.link_text)}]({item.link})" if item.link else ""
        cells = (
            escape_inline(item.title),
            escape_inline(item.owner) or "—",
            item.due_date.isoformat() if item.due_date else "—",
            escape_inline(item.priority_label),
            escape_inline(item.status_label),
            link or "—",
        )
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def parse_sections(markdown: str) -> dict[str, str]:
    """Read the written sections back from an exported file: field → Markdown ("" if empty).

    Splits only on the exporter's own `## ` headings (an author's `## Heading` inside a section
    stays there), so it fails only if an author writes one of those exact headings."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in markdown.replace("\r\n", "\n").split("\n"):
        heading = line[3:].strip() if line.startswith("## ") else None
        if heading in HEADINGS:
            field = FIELD_OF_HEADING.get(heading)
            current = found.setdefault(field, []) if field else None
            continue
        if current is not None:
            current.append(line)
    result = {}
    for field, lines in found.items():
        text = "\n".join(lines).strip()
        result[field] = "" if text == NOT_WRITTEN else text
    return result
