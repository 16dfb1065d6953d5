"""The uptime bars' lookup: a component's ComponentUptime from the snapshot's mapping."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def uptime_of(uptimes: dict | None, component):
    """`uptimes|uptime_of:component` — None when the component has no bars."""
    return (uptimes or {}).get(component.id)
