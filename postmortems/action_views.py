"""Action items: the global page (overdue first, counted per service) and the POSTs behind the
postmortem page's action items table (add one, change its status).

Reading needs POSTMORTEMS_READ; adding and moving items needs POSTMORTEMS_WRITE. Action items
stay live after publication — they are tracked to done — so neither POST opens a revision.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import Perm, require_perm

from . import selectors, services
from .errors import PostmortemError
from .forms import ANY_STATUS, UNFINISHED, ActionItemFilterForm, ActionItemForm, ActionStatusForm
from .models import OPEN_ACTION_STATUSES, ActionItem, ActionStatus
from .views import detail_url, failed, get_postmortem

PAGE_SIZE = 50


@require_GET
@require_perm(Perm.POSTMORTEMS_READ)
def action_item_list(request):
    filters = ActionItemFilterForm(request.GET, user=request.user)
    valid = filters.is_valid()
    data = filters.cleaned_data if valid else {}
    today = timezone.localdate()
    items = selectors.action_items_for_listing(today)
    status = data.get("status") or UNFINISHED
    if status == UNFINISHED:
        items = items.filter(status__in=OPEN_ACTION_STATUSES)
    elif status != ANY_STATUS:
        items = items.filter(status=status)
    owner = data.get("owner")
    if owner == "me":
        items = items.filter(owner=request.user)
    elif owner:
        items = items.filter(owner__username=owner)
    if data.get("service") is not None:
        items = items.filter(service=data["service"])
    if data.get("overdue"):
        items = items.overdue(today)
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "filters": filters,
        "page": page,
        "today": today,
        "per_service": selectors.open_items_per_service(today),
        "querystring": params.urlencode(),
        "filtered": bool(owner or data.get("service") or data.get("overdue"))
        or status != UNFINISHED,
    }
    return render(request, "postmortems/action_items.html", context, status=200 if valid else 400)


@require_POST
@require_perm(Perm.POSTMORTEMS_WRITE)
def action_item_add(request, pk: int):
    postmortem = get_postmortem(pk)
    services_ = list(postmortem.incident.services.order_by("position", "name"))
    form = ActionItemForm(request.POST, services=services_, auto_id="item_%s")
    if not form.is_valid():
        exc = PostmortemError("The action item was not added: check its fields.")
        return failed(request, pk, exc, item_form=form)
    data = form.cleaned_data
    fields = {
        "owner": data["owner"],
        "due_date": data["due_date"],
        "priority": data["priority"],
        "external_url": data["external_url"],
    }
    if data["service"] is not None:
        fields["service"] = data["service"]
    try:
        item = services.action_item_create(
            postmortem=postmortem, title=data["title"], by=request.user, **fields
        )
    except PostmortemError as exc:
        return failed(request, pk, exc, item_form=form)
    messages.success(request, f"Action item added: {item.title}")
    return redirect(f"{detail_url(postmortem)}#item-{item.pk}")


@require_POST
@require_perm(Perm.POSTMORTEMS_WRITE)
def action_item_status(request, item_id: int):
    item = get_object_or_404(ActionItem.objects.select_related("postmortem"), pk=item_id)
    pk = item.postmortem_id
    form = ActionStatusForm(request.POST)
    if not form.is_valid():
        exc = PostmortemError("Choose one of the statuses.", code="invalid")
        return failed(request, pk, exc, failed_item=item.pk)
    status = form.cleaned_data["status"]
    try:
        services.action_item_set_status(
            item=item, status=status, by=request.user, reason=form.cleaned_data["reason"]
        )
    except PostmortemError as exc:
        return failed(request, pk, exc, failed_item=item.pk)
    messages.success(request, f"“{item.title}” is now {ActionStatus(status).label.lower()}.")
    return redirect(f"{detail_url(item.postmortem)}#item-{item.pk}")
