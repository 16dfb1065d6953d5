"""Builders for uptime tests: services created at a given moment, status histories written
through catalog.services.service_set_status (the only writer), local times in a named zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from catalog.models import Service
from catalog.services import service_set_status
from statuspage.selectors import public_components
from statuspage.selectors.uptime import component_uptimes
from tests.factories import ServiceFactory


def local(zone: str, *args: int) -> datetime:
    """An aware datetime from local wall-clock fields, e.g. local("Europe/Berlin", 2026, 3, 29)."""
    return datetime(*args, tzinfo=ZoneInfo(zone))


def service_created(at: datetime, **fields) -> Service:
    """A public component that exists since `at` (created_at is auto_now_add: set it after)."""
    service = ServiceFactory(**fields)
    Service.objects.filter(pk=service.pk).update(created_at=at)
    service.refresh_from_db()
    return service


def history(service: Service, *changes: tuple[datetime, str]) -> Service:
    for at, status in changes:
        service_set_status(service=service, status=status, now=at)
    return service


def bars_by_day(service: Service, *, now: datetime) -> dict:
    """{date: (css status, title)} of the component's 90 bars as the page would show them."""
    uptime = component_uptimes(public_components(), now=now)[str(service.pk)]
    return {bar.day: (bar.css, bar.title) for bar in uptime.bars}


def uptime_percent_of(service: Service, *, now: datetime) -> str:
    return component_uptimes(public_components(), now=now)[str(service.pk)].percent
