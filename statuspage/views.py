"""The public status page: the same HTML for everyone, cached, readable without JavaScript.

Rendered without the request, so no context processor (user, navigation, CSRF token) can put
anything per-visitor into a cached, shared page.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone

from catalog.models import STATUS_SEVERITY, ComponentStatus

from .branding import page_context
from .responses import HTML, cached_response, public_read
from .selectors import PublicComponents, page_snapshot, public_maintenance


def _not_operational(components: PublicComponents) -> list[dict]:
    """Non-operational components by status, worst first, for the banner."""
    rows = []
    for status in sorted(STATUS_SEVERITY, key=STATUS_SEVERITY.get, reverse=True):
        if status == ComponentStatus.OPERATIONAL:
            continue
        names = [c.name for c in components.leaves if c.status == status]
        if names:
            rows.append({"status": status.value, "label": status.label, "names": names})
    return rows


@public_read(json=False)
def home(request: HttpRequest) -> HttpResponse:
    def build() -> str:
        snapshot = page_snapshot()
        return render_to_string(
            "statuspage/home.html",
            {
                **page_context(),
                "status": snapshot.status,
                "not_operational": _not_operational(snapshot.components),
                "components": snapshot.components,
                "uptimes": snapshot.uptime,
                "incidents": snapshot.unresolved,
                "active": snapshot.active,
                "upcoming": snapshot.upcoming,
                "updated_at": snapshot.updated_at,
                "now": timezone.now(),
            },
        )

    return cached_response(request, "html:home", build, content_type=HTML, cors=False)


@public_read(json=False)
def maintenance_detail(request: HttpRequest, pk: int) -> HttpResponse:
    def build() -> str:
        maintenance = public_maintenance(pk)
        if maintenance is None:
            # Internal, cancelled and unknown windows look the same from outside.
            raise Http404("No such maintenance")
        return render_to_string(
            "statuspage/maintenance_detail.html",
            {
                **page_context(),
                "maintenance": maintenance,
                "now": timezone.now(),
            },
        )

    return cached_response(request, f"html:maintenance:{pk}", build, content_type=HTML, cors=False)
