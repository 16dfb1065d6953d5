"""Reads the postmortem pages and the incident panel share, each a fixed number of queries."""

from __future__ import annotations

from datetime import date

from django.db.models import Case, Count, F, IntegerField, Q, Value, When

from .models import OPEN_ACTION_STATUSES, ActionItem, Postmortem, PostmortemState

_OPEN_ITEMS = Q(action_items__status__in=OPEN_ACTION_STATUSES)


def with_item_counts(queryset):
    """Annotate `items_total` and `items_open` (one aggregate, no query per row)."""
    return queryset.annotate(
        items_total=Count("action_items", distinct=True),
        items_open=Count("action_items", filter=_OPEN_ITEMS, distinct=True),
    )


def postmortems_for_listing():
    """Unpublished first, soonest due first (overdue on top); then the latest published."""
    published = Q(state=PostmortemState.PUBLISHED)
    return with_item_counts(
        Postmortem.objects.select_related("incident", "owner").order_by(
            Case(When(published, then=Value(1)), default=Value(0)),
            Case(When(published, then=None), default=F("due_at")).asc(nulls_last=True),
            F("published_at").desc(nulls_last=True),
            "-id",
        )
    )


def postmortem_detail(pk: int) -> Postmortem:
    """The postmortem with what its page header shows (Postmortem.DoesNotExist if none)."""
    return Postmortem.objects.select_related(
        "incident__severity_policy", "owner", "reviewed_by"
    ).get(pk=pk)


def incident_postmortem(incident_id: int) -> Postmortem | None:
    return (
        with_item_counts(Postmortem.objects.filter(incident_id=incident_id))
        .select_related("owner")
        .first()
    )


def action_items_for_listing(today: date):
    """Overdue first, then by due date (undated last)."""
    late = Q(status__in=OPEN_ACTION_STATUSES, due_date__lt=today)
    return (
        ActionItem.objects.select_related("owner", "service", "postmortem__incident")
        .annotate(
            late=Case(When(late, then=Value(1)), default=Value(0), output_field=IntegerField())
        )
        .order_by("-late", F("due_date").asc(nulls_last=True), "id")
    )


def open_items_per_service(today: date) -> list[dict]:
    """Open and overdue action items per service, most overdue first (one grouped query)."""
    rows = (
        ActionItem.objects.unfinished()
        .values("service__name", "service__slug")
        .annotate(open=Count("id"), overdue=Count("id", filter=Q(due_date__lt=today)))
        .order_by("-overdue", "-open", "service__name")
    )
    return [
        {
            "name": row["service__name"],
            "slug": row["service__slug"],
            "open": row["open"],
            "overdue": row["overdue"],
        }
        for row in rows
    ]
