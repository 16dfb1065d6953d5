"""Template filters shared by all pages."""

from __future__ import annotations

from datetime import timedelta

from django import template

from ops_portal.markdown import render_markdown

register = template.Library()


@register.filter
def markdown(text: str):
    """Render Markdown and sanitize it (see ops_portal.markdown)."""
    return render_markdown(text)


@register.filter
def duration(value: timedelta | None) -> str:
    """A compact duration: 45s, 12m, 3h 05m, 2d 4h."""
    if value is None:
        return "—"
    seconds = int(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m"
    return f"{sign}{secs}s"


@register.filter
def since(moment, now):
    """The time from `moment` until `now` (both datetimes)."""
    if moment is None or now is None:
        return None
    return now - moment


@register.filter
def get_item(mapping, key):
    """`mapping|get_item:key` for dict lookups with a variable key."""
    if not mapping:
        return None
    return mapping.get(key)
