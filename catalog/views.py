"""Service catalog pages: the overview with status badges and a service with its targets."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from accounts.permissions import Perm, require_perm, user_has_perm

from .models import ComponentStatus, Service
from .selectors import services_by_group, status_counts


@require_GET
@require_perm(Perm.CATALOG_READ)
def service_list(request):
    status = request.GET.get("status", "")
    if status not in ComponentStatus.values:
        status = ""
    query = request.GET.get("q", "").strip()[:100]
    sections = services_by_group(status=status or None, query=query)
    context = {
        "sections": sections,
        "counts": status_counts(),
        "statuses": ComponentStatus.choices,
        "selected_status": status,
        "query": query,
        "total": sum(len(section.services) for section in sections),
        "can_manage": user_has_perm(request.user, Perm.CATALOG_MANAGE),
    }
    template = "catalog/_service_sections.html" if request.htmx else "catalog/service_list.html"
    return render(request, template, context)


@require_GET
@require_perm(Perm.CATALOG_READ)
def service_detail(request, slug: str):
    service = get_object_or_404(Service.objects.select_related("group", "owner_team"), slug=slug)
    context = {
        "service": service,
        "targets": service.targets.order_by("kind", "name"),
        "can_manage": user_has_perm(request.user, Perm.CATALOG_MANAGE),
    }
    return render(request, "catalog/service_detail.html", context)
