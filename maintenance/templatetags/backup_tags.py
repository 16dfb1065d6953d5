"""Filters of the backup check pages."""

from __future__ import annotations

from django import template

register = template.Library()

STATE_CLASSES = {
    "passed": "status-operational",
    "failed": "status-major_outage",
    "error": "status-partial_outage",
}


@register.filter
def backup_state_class(state: str) -> str:
    """The status-badge colour of a check state (queued and running: the 'in progress' blue)."""
    return STATE_CLASSES.get(state, "status-under_maintenance")


@register.filter
def milliseconds(value: int | None) -> str:
    """850 ms, 12.3 s, 4m 05s."""
    if value is None:
        return "—"
    if value < 1000:
        return f"{value} ms"
    seconds = value / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m {rest:02d}s"
