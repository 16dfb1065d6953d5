"""The Statuspage v2 compatible JSON endpoints (ARCHITECTURE.md §4).

Plain Django views, not DRF: the bodies follow Atlassian's schema rather than ours, need no
authentication, and stay out of /api/schema/. Each body is built from one page snapshot and
served from the cache (statuspage/cache.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .responses import JSON, cached_response, public_read
from .selectors import PageSnapshot, page_snapshot
from .v2 import (
    components_body,
    incidents_body,
    scheduled_maintenances_body,
    status_body,
    summary_body,
)


def _serve(
    request: HttpRequest, name: str, make_body: Callable[[PageSnapshot], dict]
) -> HttpResponse:
    def build() -> str:
        return json.dumps(make_body(page_snapshot()), separators=(",", ":"), ensure_ascii=False)

    return cached_response(request, f"v2:{name}", build, content_type=JSON, cors=True)


@public_read(json=True)
def components(request):
    return _serve(request, "components", components_body)


@public_read(json=True)
def scheduled_maintenances(request):
    return _serve(request, "scheduled-maintenances", scheduled_maintenances_body)


@public_read(json=True)
def scheduled_maintenances_upcoming(request):
    return _serve(
        request,
        "scheduled-maintenances/upcoming",
        lambda snapshot: scheduled_maintenances_body(snapshot, which="upcoming"),
    )


@public_read(json=True)
def scheduled_maintenances_active(request):
    return _serve(
        request,
        "scheduled-maintenances/active",
        lambda snapshot: scheduled_maintenances_body(snapshot, which="active"),
    )


@public_read(json=True)
def summary(request):
    return _serve(request, "summary", summary_body)


@public_read(json=True)
def status(request):
    return _serve(request, "status", status_body)


@public_read(json=True)
def incidents(request):
    return _serve(request, "incidents", incidents_body)


@public_read(json=True)
def incidents_unresolved(request):
    return _serve(
        request,
        "incidents/unresolved",
        lambda snapshot: incidents_body(snapshot, unresolved=True),
    )
