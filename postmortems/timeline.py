"""The postmortem's timeline section: generated from the incident's timeline, then curated.

The generator keeps the key events — declaration (detection), status changes (acknowledgement,
mitigation, resolution, reopening), public updates, escalations, the first alert and alert
groups attached later, finished probe sets and findings, remediation outcomes — and skips the
chatter (notes, field edits, task ticks). Curation rows hide an event, pull a skipped one in, or
annotate one; the incident's own timeline is never written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from incidents.models import EventKind, TimelineEvent

from .models import Postmortem, TimelineCuration

ALWAYS = {
    EventKind.DECLARED,
    EventKind.STATUS_CHANGE,
    EventKind.REOPENED,
    EventKind.PUBLIC_UPDATE,
    EventKind.ESCALATION,
    EventKind.ALERT,
}
# Diagnostics: each probe set's summary, single runs that found something, and verification
# outcomes — not every "started" line or healthy run.
PROBE_PHASES = {"summary", "verification_failed", "watch_passed"}
FINDING_STATUSES = {"warning", "critical"}
# Remediations: how each one ended, not its previews and approvals.
REMEDIATION_PHASES = {"done", "failed", "unknown"}


def is_key_event(event: TimelineEvent) -> bool:
    if event.kind in ALWAYS:
        return True
    data = event.data or {}
    if event.kind == EventKind.PROBE_RESULT:
        if data.get("phase") == "result":
            return data.get("status") in FINDING_STATUSES
        return data.get("phase") in PROBE_PHASES
    if event.kind == EventKind.REMEDIATION:
        return data.get("phase") in REMEDIATION_PHASES
    return False


LABELS = {
    EventKind.DECLARED: "Detected and declared",
    EventKind.STATUS_CHANGE: "Status",
    EventKind.REOPENED: "Reopened",
    EventKind.PUBLIC_UPDATE: "Public update",
    EventKind.ESCALATION: "Escalation",
    EventKind.ALERT: "Alert",
    EventKind.PROBE_RESULT: "Diagnostics",
    EventKind.REMEDIATION: "Remediation",
}


@dataclass(frozen=True)
class Entry:
    event_id: int
    seq: int
    at: datetime
    kind: str
    label: str
    body: str
    author: str
    key: bool  # chosen by the generator (False: pulled in by curation)
    hidden: bool
    annotation: str

    def as_dict(self) -> dict:
        return {
            "event_id": self.event_id,
            "seq": self.seq,
            "at": self.at.isoformat(),
            "kind": self.kind,
            "label": self.label,
            "body": self.body,
            "author": self.author,
            "key": self.key,
            "hidden": self.hidden,
            "annotation": self.annotation,
        }


def _label(event: TimelineEvent) -> str:
    if event.kind == EventKind.STATUS_CHANGE:
        return f"Status → {(event.data or {}).get('to', '?')}"
    return LABELS.get(event.kind, event.get_kind_display())


def entries(postmortem: Postmortem, *, include_hidden: bool = True) -> list[Entry]:
    """The incident's key events in `seq` order with the curation applied (two queries)."""
    curation = {row.event_id: row for row in TimelineCuration.objects.filter(postmortem=postmortem)}
    events = (
        TimelineEvent.objects.filter(incident_id=postmortem.incident_id)
        .select_related("author")
        .order_by("seq")
    )
    result = []
    for event in events:
        row = curation.get(event.pk)
        key = is_key_event(event)
        if not key and not (row and row.included):
            continue
        hidden = bool(row and row.hidden)
        if hidden and not include_hidden:
            continue
        result.append(
            Entry(
                event_id=event.pk,
                seq=event.seq,
                at=event.created_at,
                kind=event.kind,
                label=_label(event),
                body=event.body,
                author=event.author.get_username() if event.author else "",
                key=key,
                hidden=hidden,
                annotation=row.annotation if row else "",
            )
        )
    return result
