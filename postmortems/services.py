"""Every write to postmortems: creation on resolution, editing, review and publication with
frozen revisions, timeline curation and action items.

State machine: draft → in_review → published. `postmortem_return` sends a review back to draft;
editing a published postmortem opens the next revision as a draft (the published one stays, frozen,
in PostmortemRevision). Each change that matters to the incident's story is also an event on the
incident's timeline (kind `postmortem`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Min
from django.utils import timezone

from alerts.models import Alert
from incidents.models import EventKind, Incident, Status, TimelineEvent
from incidents.services import timeline_append

from . import metrics, timeline
from .errors import PostmortemError
from .models import (
    SECTION_FIELDS,
    ActionItem,
    ActionStatus,
    Postmortem,
    PostmortemRevision,
    PostmortemState,
    TimelineCuration,
)

RESOLVED_STATUSES = (Status.RESOLVED, Status.CLOSED)
EDITABLE_FIELDS = (
    *SECTION_FIELDS,
    "owner",
    "impact_started_at",
    "affected_users",
    "customer_summary",
    "due_at",
)


def _event(postmortem: Postmortem, body: str, *, by=None, now=None, **data) -> None:
    timeline_append(
        incident_id=postmortem.incident_id,
        kind=EventKind.POSTMORTEM,
        body=body,
        data={"postmortem_id": postmortem.pk, "revision": postmortem.revision, **data},
        author=by,
        now=now,
    )


def _lock(postmortem: Postmortem) -> Postmortem:
    return Postmortem.objects.select_for_update().get(pk=postmortem.pk)


# --- Creating ---------------------------------------------------------------------------------


def _impact_start(incident: Incident):
    """The earliest start of an alert that led to the incident: impact began there."""
    first = Alert.objects.filter(group__incident=incident).aggregate(first=Min("starts_at"))
    start = first["first"]
    return start if start is not None and start <= incident.detected_at else None


def postmortem_create(
    *, incident: Incident, by=None, required: bool | None = None, now: datetime | None = None
) -> Postmortem:
    """The incident's postmortem, created once: due POSTMORTEM_DUE_HOURS after resolution,
    owned by the commander. Calling it again returns the existing one."""
    existing = Postmortem.objects.filter(incident=incident).first()
    if existing is not None:
        return existing
    if incident.status not in RESOLVED_STATUSES:
        raise PostmortemError(
            f"{incident.ref} is not resolved yet: the postmortem starts at resolution.",
            code="incident_open",
        )
    now = now or timezone.now()
    if required is None:
        required = incident.severity_policy.requires_postmortem
    resolved_at = incident.resolved_at or now
    try:
        with transaction.atomic():
            postmortem = Postmortem.objects.create(
                incident=incident,
                owner=incident.commander or by,
                required=required,
                due_at=resolved_at + timedelta(hours=settings.POSTMORTEM_DUE_HOURS),
                impact_started_at=_impact_start(incident),
                created_at=now,
            )
            _event(
                postmortem,
                f"Postmortem {'required' if required else 'started'}; due "
                f"{postmortem.due_at:%Y-%m-%d %H:%M} UTC, owner "
                f"{postmortem.owner.get_username() if postmortem.owner else 'unassigned'}.",
                by=by,
                now=now,
                change="created",
                due_at=postmortem.due_at.isoformat(),
            )
    except IntegrityError:
        # Created concurrently (the resolve hook and the sweeper): the other one won.
        return Postmortem.objects.get(incident=incident)
    return postmortem


def create_for_resolved(event) -> None:
    """`incident.resolved` subscriber: a postmortem for every severity that requires one."""
    incident = Incident.objects.select_related("severity_policy", "commander").get(
        pk=event.incident_id
    )
    if incident.severity_policy.requires_postmortem and incident.status in RESOLVED_STATUSES:
        postmortem_create(incident=incident)


def postmortems_ensure(*, now: datetime | None = None, lookback_days: int = 30) -> int:
    """Beat: create postmortems the resolve hook missed (a process died after the commit)."""
    now = now or timezone.now()
    missing = Incident.objects.filter(
        status__in=RESOLVED_STATUSES,
        severity_policy__requires_postmortem=True,
        resolved_at__gte=now - timedelta(days=lookback_days),
        postmortem__isnull=True,
    ).select_related("severity_policy", "commander")
    created = 0
    for incident in missing:
        postmortem_create(incident=incident, now=now)
        created += 1
    return created


# --- Editing ----------------------------------------------------------------------------------


@transaction.atomic
def postmortem_update(*, postmortem: Postmortem, by, now=None, **changes) -> Postmortem:
    """Edit sections and details. A published postmortem is frozen: editing it opens the next
    revision as a draft, and the published text stays as it was in its revision."""
    now = now or timezone.now()
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise PostmortemError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    postmortem = _lock(postmortem)
    changed = [f for f, v in changes.items() if getattr(postmortem, f) != v]
    if not changed:
        return postmortem
    reopened = postmortem.state == PostmortemState.PUBLISHED
    for field in changed:
        setattr(postmortem, field, changes[field])
    if reopened:
        _open_next_revision(postmortem, by=by, now=now)
        return postmortem
    if postmortem.state == PostmortemState.IN_REVIEW and postmortem.reviewed_at:
        # The reviewed text changed: it needs another look before publication.
        postmortem.reviewed_by = None
        postmortem.reviewed_at = None
    postmortem.save()
    return postmortem


def _open_next_revision(postmortem: Postmortem, *, by, now) -> None:
    """Turn a (locked) published postmortem into the draft of its next revision and save it;
    the published revision stays frozen in PostmortemRevision."""
    postmortem.revision += 1
    postmortem.state = PostmortemState.DRAFT
    postmortem.reviewed_by = None
    postmortem.reviewed_at = None
    postmortem.submitted_at = None
    postmortem.save()
    _event(
        postmortem,
        f"Postmortem revision {postmortem.revision} opened (revision "
        f"{postmortem.revision - 1} stays published).",
        by=by,
        now=now,
        change="revision_opened",
    )


# --- Review and publication -------------------------------------------------------------------


def _require_state(postmortem: Postmortem, *states: str, action: str) -> None:
    if postmortem.state not in states:
        raise PostmortemError(
            f"The postmortem is {postmortem.get_state_display().lower()}; it cannot {action}.",
            code="illegal_transition",
            extra={"state": postmortem.state},
        )


@transaction.atomic
def postmortem_submit(*, postmortem: Postmortem, by, now=None) -> Postmortem:
    now = now or timezone.now()
    postmortem = _lock(postmortem)
    _require_state(postmortem, PostmortemState.DRAFT, action="go to review")
    empty = [f for f in ("summary", "root_cause") if not getattr(postmortem, f).strip()]
    if empty:
        raise PostmortemError(
            "Write at least the summary and the root cause before asking for review.",
            code="incomplete",
            extra={"fields": empty},
        )
    postmortem.state = PostmortemState.IN_REVIEW
    postmortem.submitted_at = now
    postmortem.save()
    _event(postmortem, "Postmortem submitted for review.", by=by, now=now, change="submitted")
    return postmortem


@transaction.atomic
def postmortem_return(*, postmortem: Postmortem, by, reason: str = "", now=None) -> Postmortem:
    now = now or timezone.now()
    postmortem = _lock(postmortem)
    _require_state(postmortem, PostmortemState.IN_REVIEW, action="go back to draft")
    postmortem.state = PostmortemState.DRAFT
    postmortem.reviewed_by = None
    postmortem.reviewed_at = None
    postmortem.save()
    _event(
        postmortem,
        "Postmortem sent back to draft" + (f": {reason}" if reason else "."),
        by=by,
        now=now,
        change="returned",
        reason=reason,
    )
    return postmortem


@transaction.atomic
def postmortem_review(*, postmortem: Postmortem, by, now=None) -> Postmortem:
    """A commander or admin marks the text reviewed (views and the API check the role)."""
    now = now or timezone.now()
    postmortem = _lock(postmortem)
    _require_state(postmortem, PostmortemState.IN_REVIEW, action="be reviewed")
    postmortem.reviewed_by = by
    postmortem.reviewed_at = now
    postmortem.save()
    _event(postmortem, "Postmortem reviewed.", by=by, now=now, change="reviewed")
    return postmortem


def snapshot(postmortem: Postmortem) -> dict:
    """Everything a publication freezes: sections, curated timeline, metrics, action items."""
    incident = postmortem.incident
    return {
        "incident": {
            "id": incident.pk,
            "ref": incident.ref,
            "title": incident.title,
            "severity": incident.severity,
            "services": [s.name for s in incident.services.all()],
        },
        "owner": postmortem.owner.get_username() if postmortem.owner else "",
        "due_at": postmortem.due_at.isoformat(),
        "impact_started_at": (
            postmortem.impact_started_at.isoformat() if postmortem.impact_started_at else None
        ),
        "affected_users": postmortem.affected_users,
        "sections": {field: getattr(postmortem, field) for field in SECTION_FIELDS},
        "customer_summary": postmortem.customer_summary,
        "timeline": [e.as_dict() for e in timeline.entries(postmortem, include_hidden=False)],
        "metrics": metrics.key_metrics(postmortem).as_dict(),
        "action_items": [
            {
                "title": item.title,
                "owner": item.owner.get_username() if item.owner else "",
                "due_date": item.due_date.isoformat() if item.due_date else None,
                "priority": item.priority,
                "status": item.status,
                "wont_do_reason": item.wont_do_reason,
                "external_url": item.external_url,
            }
            for item in postmortem.action_items.select_related("owner").order_by("id")
        ],
    }


@transaction.atomic
def postmortem_publish(*, postmortem: Postmortem, by, now=None) -> Postmortem:
    """Freeze the reviewed text as revision n; the document reopens only as revision n+1."""
    now = now or timezone.now()
    postmortem = _lock(postmortem)
    _require_state(postmortem, PostmortemState.IN_REVIEW, action="be published")
    if postmortem.reviewed_at is None:
        raise PostmortemError(
            "A commander or admin must mark it reviewed before it is published.",
            code="not_reviewed",
        )
    PostmortemRevision.objects.create(
        postmortem=postmortem,
        number=postmortem.revision,
        content=snapshot(postmortem),
        published_by=by,
        published_at=now,
    )
    postmortem.state = PostmortemState.PUBLISHED
    postmortem.published_at = now
    if postmortem.first_published_at is None:
        postmortem.first_published_at = now
    postmortem.save()
    _event(
        postmortem,
        f"Postmortem published (revision {postmortem.revision}).",
        by=by,
        now=now,
        change="published",
        on_time=postmortem.first_published_at <= postmortem.due_at,
    )
    return postmortem


# --- Timeline curation ------------------------------------------------------------------------


@transaction.atomic
def curation_set(
    *,
    postmortem: Postmortem,
    event: TimelineEvent,
    by,
    hidden: bool | None = None,
    included: bool | None = None,
    annotation: str | None = None,
) -> TimelineCuration:
    """Hide, include or annotate one incident event in the postmortem (the incident's timeline
    is not touched). Curating a published postmortem opens its next revision."""
    if event.incident_id != postmortem.incident_id:
        raise PostmortemError("That event belongs to another incident.", code="wrong_incident")
    locked = _lock(postmortem)
    if locked.state == PostmortemState.PUBLISHED:
        _open_next_revision(locked, by=by, now=timezone.now())
    row, _created = TimelineCuration.objects.get_or_create(postmortem=postmortem, event=event)
    if hidden is not None:
        row.hidden = hidden
    if included is not None:
        row.included = included
    if annotation is not None:
        row.annotation = annotation.strip()[:2000]
    row.updated_by = by
    row.save()
    return row


# --- Action items -----------------------------------------------------------------------------

ACTION_FIELDS = ("title", "owner", "due_date", "priority", "external_url", "service")


@transaction.atomic
def action_item_create(*, postmortem: Postmortem, title: str, by, **fields) -> ActionItem:
    if not title.strip():
        raise PostmortemError("An action item needs a title.")
    unknown = set(fields) - set(ACTION_FIELDS)
    if unknown:
        raise PostmortemError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    if fields.get("service") is None:
        fields["service"] = postmortem.incident.services.order_by("position", "name").first()
    item = ActionItem.objects.create(
        postmortem=postmortem, title=title.strip()[:200], created_by=by, **fields
    )
    _event(
        postmortem,
        f"Action item added: {item.title}",
        by=by,
        change="action_item_added",
        action_item_id=item.pk,
    )
    return item


@transaction.atomic
def action_item_update(*, item: ActionItem, by, **fields) -> ActionItem:
    unknown = set(fields) - set(ACTION_FIELDS)
    if unknown:
        raise PostmortemError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    item = ActionItem.objects.select_for_update().get(pk=item.pk)
    for field, value in fields.items():
        setattr(item, field, value)
    if not item.title.strip():
        raise PostmortemError("An action item needs a title.")
    item.save()
    return item


@transaction.atomic
def action_item_set_status(
    *, item: ActionItem, status: str, by, reason: str = "", now=None
) -> ActionItem:
    """Move an item; `wont_do` needs the reason, `done` records when."""
    now = now or timezone.now()
    status = ActionStatus(status)
    item = ActionItem.objects.select_for_update().get(pk=item.pk)
    if status == ActionStatus.WONT_DO and not reason.strip():
        raise PostmortemError("Say why it won't be done.", code="reason_required")
    if item.status == status and (status != ActionStatus.WONT_DO or reason == item.wont_do_reason):
        return item
    previous = item.status
    item.status = status
    item.wont_do_reason = reason.strip()[:500] if status == ActionStatus.WONT_DO else ""
    item.completed_at = now if status in (ActionStatus.DONE, ActionStatus.WONT_DO) else None
    item.save()
    _event(
        item.postmortem,
        f"Action item “{item.title}”: {ActionStatus(previous).label} → {status.label}"
        + (f" ({item.wont_do_reason})" if item.wont_do_reason else ""),
        by=by,
        now=now,
        change="action_item_status",
        action_item_id=item.pk,
        status=status,
    )
    return item
