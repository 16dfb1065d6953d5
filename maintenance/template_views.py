"""Checklist template pages: list, read, create, edit, delete.

Everyone with MAINTENANCE_READ reads the maintenance checklists and recovery procedures;
MAINTENANCE_MANAGE edits them. Saving goes through the same serializer as the API
(template_schema.py) and the same service (checklists.py).
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import Perm, require_perm, user_has_perm

from . import checklists
from .errors import MaintenanceError
from .models import ChecklistKind, ChecklistTemplate, Phase
from .template_forms import PHASE_ORDER, TemplateForm, item_formset
from .template_schema import MAX_ITEMS, ChecklistTemplateSerializer

TEMPLATE_FIELDS = ("name", "kind", "description", "is_default", "active")


def _templates():
    return ChecklistTemplate.objects.prefetch_related("items")


def _ordered_items(template: ChecklistTemplate) -> list:
    return sorted(template.items.all(), key=lambda i: (PHASE_ORDER.get(i.phase, 9), i.position))


def _summary(template: ChecklistTemplate) -> dict:
    items = list(template.items.all())
    return {
        "template": template,
        "count": len(items),
        "required": sum(item.required for item in items),
        "phases": [
            (label, sum(item.phase == value for item in items))
            for value, label in Phase.choices
            if value != Phase.PROCEDURE
        ],
        "longest_due": max((item.due_minutes for item in items), default=0),
    }


@require_GET
@require_perm(Perm.MAINTENANCE_READ)
def template_list(request):
    templates = list(_templates().order_by("name"))
    context = {
        "maintenance": [_summary(t) for t in templates if t.kind == ChecklistKind.MAINTENANCE],
        "recovery": [_summary(t) for t in templates if t.kind == ChecklistKind.RECOVERY],
        "can_manage": user_has_perm(request.user, Perm.MAINTENANCE_MANAGE),
    }
    return render(request, "maintenance/templates_list.html", context)


@require_GET
@require_perm(Perm.MAINTENANCE_READ)
def template_detail(request, pk: int):
    template = get_object_or_404(_templates(), pk=pk)
    items = _ordered_items(template)
    phases = [
        (label, [item for item in items if item.phase == value]) for value, label in Phase.choices
    ]
    context = {
        "template": template,
        "phases": [(label, group) for label, group in phases if group],
        "can_manage": user_has_perm(request.user, Perm.MAINTENANCE_MANAGE),
    }
    return render(request, "maintenance/templates_detail.html", context)


@require_http_methods(["GET", "POST"])
@require_perm(Perm.MAINTENANCE_MANAGE)
def template_new(request):
    kind = request.GET.get("kind", "")
    return _editor(request, None, kind=kind if kind in ChecklistKind.values else "")


@require_http_methods(["GET", "POST"])
@require_perm(Perm.MAINTENANCE_MANAGE)
def template_edit(request, pk: int):
    return _editor(request, get_object_or_404(_templates(), pk=pk))


@require_POST
@require_perm(Perm.MAINTENANCE_MANAGE)
def template_delete(request, pk: int):
    template = get_object_or_404(ChecklistTemplate, pk=pk)
    try:
        checklists.template_delete(template=template)
    except MaintenanceError as exc:
        messages.error(request, exc.message)
        return redirect("maintenance:template-edit", pk=template.pk)
    messages.success(request, f"“{template.name}” deleted.")
    return redirect("maintenance:template-list")


def _editor(request, template: ChecklistTemplate | None, *, kind: str = ""):
    if request.method == "GET":
        form = TemplateForm.for_template(template, kind=kind)
        return _editor_page(request, template, form, item_formset(template, kind=kind), [])

    data = request.POST
    adding = "add_item" in data
    if adding:
        # Without JavaScript: the same form with one more empty row, saving nothing.
        data = data.copy()
        total = _int(data.get("items-TOTAL_FORMS"))
        data["items-TOTAL_FORMS"] = str(min(total + 1, MAX_ITEMS))
    form = TemplateForm.for_template(template, data)
    formset = item_formset(template, data)
    if adding:
        return _editor_page(request, template, form, formset, [])
    page_errors: list[str] = []
    if form.is_valid() and formset.is_valid():
        rows = formset.rows()
        payload = {
            **{field: form.cleaned_data[field] for field in TEMPLATE_FIELDS},
            "items": [_fit_kind(item, form.cleaned_data["kind"]) for _, item in rows],
        }
        serializer = ChecklistTemplateSerializer(instance=template, data=payload)
        if serializer.is_valid():
            try:
                saved = serializer.save()
            except MaintenanceError as exc:
                page_errors.append(exc.message)
            else:
                messages.success(request, f"“{saved.name}” saved.")
                return redirect("maintenance:template-detail", pk=saved.pk)
        else:
            page_errors = _attach_errors(serializer.errors, form, [f for f, _ in rows])
    return _editor_page(request, template, form, formset, page_errors, status=400)


def _fit_kind(item: dict, kind: str) -> dict:
    """Drop the fields the page shows for the other kind, so switching kind is not an error."""
    if kind == ChecklistKind.RECOVERY:
        return {**item, "phase": Phase.PROCEDURE, "required": False}
    return {**item, "incident_step": ""}


def _int(value) -> int:
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 0


def _attach_errors(errors: dict, form, item_forms) -> list[str]:
    """Put the serializer's errors on the fields they belong to; return the rest."""
    rest: list[str] = []
    for key, value in errors.items():
        if key in form.fields:
            form.add_error(key, [str(message) for message in value])
        elif key == "slug":
            form.add_error("name", "Another template already has this name's address.")
        elif key == "items" and isinstance(value, list) and value and isinstance(value[0], dict):
            for item_form, item_errors in zip(item_forms, value, strict=False):
                for field, problems in item_errors.items():
                    name = field if field in item_form.fields else None
                    item_form.add_error(name, [str(problem) for problem in problems])
        else:
            rest.extend(str(message) for message in (value if isinstance(value, list) else [value]))
    return rest


def _editor_page(request, template, form, formset, page_errors, status: int = 200):
    context = {
        "template": template,
        "form": form,
        "formset": formset,
        "page_errors": page_errors,
        "max_items": MAX_ITEMS,
        "cancel_url": reverse("maintenance:template-detail", args=[template.pk])
        if template
        else reverse("maintenance:template-list"),
    }
    return render(request, "maintenance/templates_form.html", context, status=status)
