"""Reads of maintenance windows shared by pages, the API and the status page."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Prefetch, QuerySet

from catalog.models import Service

from .models import ChecklistItem, MaintenanceWindow, WindowEvent, WindowState


def windows_for_listing() -> QuerySet[MaintenanceWindow]:
    """Windows with what a list row shows, in a fixed number of queries."""
    return MaintenanceWindow.objects.select_related("owner").prefetch_related(
        Prefetch("services", queryset=Service.objects.order_by("position", "name"))
    )


def window_detail(pk: int) -> MaintenanceWindow:
    """One window with its services, checklist and log (raises DoesNotExist)."""
    return (
        MaintenanceWindow.objects.select_related(
            "owner", "created_by", "before_snapshot", "after_snapshot", "regression_acknowledged_by"
        )
        .prefetch_related(
            Prefetch("services", queryset=Service.objects.order_by("position", "name")),
            Prefetch("checklist", queryset=ChecklistItem.objects.select_related("done_by")),
            Prefetch("events", queryset=WindowEvent.objects.select_related("author")),
        )
        .get(pk=pk)
    )


def public_windows() -> QuerySet[MaintenanceWindow]:
    """Windows the public may see: public ones that were not cancelled."""
    return (
        MaintenanceWindow.objects.public()
        .exclude(state=WindowState.CANCELLED)
        .prefetch_related(
            Prefetch("services", queryset=Service.objects.public().order_by("position", "name"))
        )
    )


def services_in_maintenance(at: datetime) -> set[int]:
    """Ids of services with a window running at `at`."""
    return set(
        MaintenanceWindow.objects.filter(started_at__lte=at, completed_at__isnull=True)
        .exclude(state__in=(WindowState.SCHEDULED, WindowState.CANCELLED))
        .values_list("services", flat=True)
    )
