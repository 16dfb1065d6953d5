"""Times on the maintenance pages: always UTC, with a relative hint beside them.

The forms take UTC (see maintenance.forms), so the pages show UTC whatever the portal's
TIME_ZONE is; the hint ("in 3h 05m", "2d 4h ago") saves the reader the arithmetic.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django import template
from django.utils.dateformat import format as date_format

from ops_portal.templatetags.portal import duration

register = template.Library()


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


@register.filter
def utc(moment: datetime | None, fmt: str = "j M Y H:i") -> str:
    """`moment` in UTC, formatted with Django's date format characters."""
    if moment is None:
        return ""
    return date_format(_utc(moment), fmt)


@register.filter
def utc_range(start: datetime | None, end: datetime | None) -> str:
    """`5 Mar 2025 14:00-16:00 UTC` (an en dash), or with both dates when it spans days.

    A no-break space keeps "UTC" on the line of the time it qualifies.
    """
    if start is None or end is None:
        return ""
    start, end = _utc(start), _utc(end)
    if start.date() == end.date():
        return f"{utc(start)}–{utc(end, 'H:i')}\u00a0UTC"
    end_format = "j M H:i" if start.year == end.year else "j M Y H:i"
    return f"{utc(start)} – {utc(end, end_format)}\u00a0UTC"


@register.filter
def relative(moment: datetime | None, now: datetime | None) -> str:
    """`in 3h 05m`, `2d 4h ago` or `now`, from `now`'s point of view."""
    if moment is None or now is None:
        return ""
    delta = moment - now
    if abs(delta.total_seconds()) < 60:
        return "now"
    if delta.total_seconds() > 0:
        return f"in {duration(delta)}"
    return f"{duration(-delta)} ago"
