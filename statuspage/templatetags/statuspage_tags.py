"""Filters of the public status page."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils.timesince import timesince, timeuntil

register = template.Library()


@register.filter
def relative(moment: datetime | None, now: datetime) -> str:
    """'in 2 hours, 5 minutes', '3 minutes ago' or 'just now', relative to `now`.

    Computed on the server because the page works without JavaScript; it is cached for
    seconds, so the hint is as fresh as the rest of the page.
    """
    if moment is None:
        return ""
    if abs(moment - now) < timedelta(minutes=1):
        return "just now"
    if moment > now:
        return f"in {timeuntil(moment, now)}"
    return f"{timesince(moment, now)} ago"
