"""The postmortem's text as a page shows it: live (draft, in review) or frozen (a publication).

One shape for both, so the detail page, a published postmortem and an old revision render
through the same template: a published postmortem shows what was published — the revision's
frozen content — not whatever the live row holds.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from . import metrics, timeline
from .models import SECTIONS, Postmortem, PostmortemRevision

METRIC_LABELS = (
    ("time_to_detect", "Time to detect", "impact start → declared"),
    ("time_to_acknowledge", "Time to acknowledge", "declared → acknowledged"),
    ("time_to_mitigate", "Time to mitigate", "declared → mitigating"),
    ("time_to_resolve", "Time to resolve", "declared → resolved"),
    ("impact_duration", "Impact duration", "impact start → resolved"),
)
_ENTRY_FIELDS = {f.name for f in fields(timeline.Entry)}


@dataclass(frozen=True)
class Section:
    field: str
    heading: str
    hint: str
    text: str


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    explain: str
    minutes: float | None


@dataclass(frozen=True)
class Document:
    frozen: bool
    impact_started_at: datetime | None
    affected_users: str
    owner: str
    sections: list[Section]
    customer_summary: str
    metrics: list[Metric]
    timeline: list[timeline.Entry]
    # A publication's action items as they were then; the live page lists the live ones.
    action_items: list[dict]


def _metrics(values: dict) -> list[Metric]:
    return [
        Metric(key=key, label=label, explain=explain, minutes=values.get(key))
        for key, label, explain in METRIC_LABELS
    ]


def _sections(texts: dict) -> list[Section]:
    return [
        Section(field=name, heading=heading, hint=hint, text=texts.get(name, ""))
        for name, heading, hint in SECTIONS
    ]


def live(postmortem: Postmortem, *, include_hidden: bool) -> Document:
    """The working text; `include_hidden` for writers, who can show hidden events again."""
    return Document(
        frozen=False,
        impact_started_at=postmortem.impact_started_at,
        affected_users=postmortem.affected_users,
        owner=postmortem.owner.display_name if postmortem.owner else "",
        sections=_sections({name: getattr(postmortem, name) for name, _h, _t in SECTIONS}),
        customer_summary=postmortem.customer_summary,
        metrics=_metrics(metrics.key_metrics(postmortem).as_dict()),
        timeline=timeline.entries(postmortem, include_hidden=include_hidden),
        action_items=[],
    )


def _entry(row: dict) -> timeline.Entry:
    values = {key: value for key, value in row.items() if key in _ENTRY_FIELDS}
    values["at"] = datetime.fromisoformat(values["at"])
    return timeline.Entry(**values)


def frozen(revision: PostmortemRevision) -> Document:
    content = revision.content
    started = content.get("impact_started_at")
    return Document(
        frozen=True,
        impact_started_at=datetime.fromisoformat(started) if started else None,
        affected_users=content.get("affected_users", ""),
        owner=content.get("owner", ""),
        sections=_sections(content.get("sections", {})),
        customer_summary=content.get("customer_summary", ""),
        metrics=_metrics(content.get("metrics", {})),
        timeline=[_entry(row) for row in content.get("timeline", [])],
        action_items=content.get("action_items", []),
    )
