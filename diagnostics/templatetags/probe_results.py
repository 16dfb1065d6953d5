"""Filters for showing probe results: status words, table cells, check values, raw JSON."""

from __future__ import annotations

import json
import math

from django import template

register = template.Library()

STATUS_LABELS = {"ok": "OK", "warning": "Warning", "critical": "Critical", "error": "Error"}


@register.filter
def probe_status_label(status: str) -> str:
    """The word shown in a status badge (the colour never stands alone)."""
    return STATUS_LABELS.get(status or "", (status or "pending").capitalize())


@register.filter
def cell(value) -> str:
    """A findings-table or check value as text: numbers rounded, nothing shown as a dash."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


@register.filter
def with_unit(value, unit: str) -> str:
    text = cell(value)
    if text == "—" or not unit:
        return text
    return f"{text} {unit}"


@register.filter
def param_type(name: str) -> str:
    """A parameter's type as people say it (DRF's CharField is "char")."""
    return {"char": "text", "regex": "regular expression", "json": "JSON"}.get(name, name)


@register.filter
def pretty_json(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


@register.filter
def count_of(items) -> int:
    """Sum of the `count` of each item (new findings of a baseline comparison)."""
    return sum(item.get("count", 0) for item in items or [])


@register.filter
def table_note(table: dict) -> str:
    """ "first 50 of 1,234 rows" when the probe cut the table to its bound."""
    total = table.get("total_rows")
    shown = len(table.get("rows") or [])
    if not total or total <= shown:
        return ""
    return f"first {shown} of {total:,} rows"
