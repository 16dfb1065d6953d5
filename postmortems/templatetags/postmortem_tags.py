"""Times and durations on the postmortem pages: UTC dates, "due in 5 h", "1 h 05 min"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django import template
from django.utils.dateformat import format as date_format

register = template.Library()


@register.filter
def utc(moment: datetime | None, fmt: str = "j M Y H:i") -> str:
    """`moment` in UTC with Django's date format characters (the pages say "UTC" beside it)."""
    if moment is None:
        return ""
    return date_format(moment.astimezone(UTC), fmt)


def _span(delta: timedelta) -> str:
    """A rough span for a deadline hint: 40 min, 5 h, 2 d 3 h."""
    minutes = round(abs(delta.total_seconds()) / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours = round(minutes / 60)
    if hours < 48:
        return f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


@register.filter
def due_hint(due_at: datetime | None, now: datetime | None) -> str:
    """`due in 5 h` or `overdue by 2 d 3 h`, from `now`'s point of view."""
    if due_at is None or now is None:
        return ""
    delta = due_at - now
    if delta.total_seconds() >= 0:
        return f"due in {_span(delta)}"
    return f"overdue by {_span(delta)}"


@register.filter
def minutes(value: float | None) -> str:
    """A metric in minutes, readable: `42 min`, `1 h 05 min`, `2 d 3 h`; `—` when unknown."""
    if value is None:
        return "—"
    total = round(value)
    if total < 60:
        return f"{value:g} min" if value < 10 and value != total else f"{total} min"
    hours, mins = divmod(total, 60)
    if hours < 48:
        return f"{hours} h {mins:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


@register.filter
def ticket_url(url: str | None) -> str:
    """The ticket link if it is http(s), else "" (a stored `javascript:` URL is never a link)."""
    url = (url or "").strip()
    return url if url.lower().startswith(("https://", "http://")) else ""
