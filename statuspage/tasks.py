"""Celery tasks of the status page: thin wrappers over its services."""

from __future__ import annotations

from celery import shared_task

from .stale import stale_flags_send
from .uptime import uptime_refresh as refresh_uptime_days


@shared_task(name="statuspage.uptime_refresh")
def uptime_refresh() -> int:
    """Recompute the uptime days that can have changed (today, unfinished days, edits)."""
    return refresh_uptime_days()


@shared_task(name="statuspage.stale_flags")
def stale_flags() -> int:
    """Tell admins about components left non-operational without a public update."""
    return stale_flags_send()
