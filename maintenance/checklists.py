"""Writes to checklist templates: saving one with its items, and deleting one.

The shape of a template (phases that fit its kind, a playbook step on recovery items, unique
names) is checked by template_schema.py before these run; what is left here are the rules that
span templates: exactly one default maintenance checklist at all times, and no deleting a
template that windows or incidents still rely on.
"""

from __future__ import annotations

from django.db import transaction

from .errors import MaintenanceError
from .models import AttachedProcedure, ChecklistKind, ChecklistTemplate, ChecklistTemplateItem

TEMPLATE_FIELDS = ("name", "slug", "kind", "description", "is_default", "active")
ITEM_FIELDS = (
    "phase",
    "title",
    "description",
    "required",
    "incident_step",
    "due_minutes",
    "position",
)


def template_save(
    *, template: ChecklistTemplate | None = None, items: list[dict] | None = None, **fields
) -> ChecklistTemplate:
    """Create (template None) or change a template; `items`, when given, replace its items.

    Making a template the default clears the flag on the previous default in the same
    transaction; the default cannot be unset, deactivated or turned into a recovery procedure
    (new windows copy it): make another template the default instead.
    """
    unknown = set(fields) - set(TEMPLATE_FIELDS)
    if unknown:
        raise TypeError(f"unknown template fields: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        # Every maintenance template row, locked in id order: two concurrent "make default"
        # saves queue here, and the second's clearing UPDATE below then sees the first's flag.
        list(
            ChecklistTemplate.objects.select_for_update()
            .filter(kind=ChecklistKind.MAINTENANCE)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        was_default = False
        if template is None:
            template = ChecklistTemplate(**fields)
        else:
            template = ChecklistTemplate.objects.select_for_update().get(pk=template.pk)
            was_default = template.is_default
            for field, value in fields.items():
                setattr(template, field, value)
        _check_default(template, was_default)
        if template.is_default:
            # Before the save: the one_default_checklist constraint allows one flag at a time.
            others = ChecklistTemplate.objects.filter(is_default=True)
            if template.pk is not None:
                others = others.exclude(pk=template.pk)
            others.update(is_default=False)
        template.save()
        if items is not None:
            template.items.all().delete()
            ChecklistTemplateItem.objects.bulk_create(
                ChecklistTemplateItem(
                    template=template,
                    **{field: item[field] for field in ITEM_FIELDS if field in item},
                )
                for item in items
            )
    return template


def _check_default(template: ChecklistTemplate, was_default: bool) -> None:
    if template.is_default and template.kind != ChecklistKind.MAINTENANCE:
        raise MaintenanceError(
            "Only a maintenance checklist can be the default.", code="invalid_default"
        )
    if template.is_default and not template.active:
        raise MaintenanceError("The default checklist must be active.", code="invalid_default")
    if was_default and not template.is_default:
        raise MaintenanceError(
            f"“{template.name}” is the default checklist new windows copy: make another "
            "template the default instead.",
            code="default_required",
        )


def template_delete(*, template: ChecklistTemplate) -> None:
    """Delete a template nothing relies on; windows keep their own copies of its items."""
    with transaction.atomic():
        template = ChecklistTemplate.objects.select_for_update().get(pk=template.pk)
        if template.is_default:
            raise MaintenanceError(
                f"“{template.name}” is the default checklist: make another template the "
                "default first.",
                code="default_required",
            )
        attached = AttachedProcedure.objects.filter(template=template).count()
        if attached:
            raise MaintenanceError(
                f"“{template.name}” is attached to {attached} incident"
                f"{'s' if attached != 1 else ''}: deactivate it instead.",
                code="in_use",
                extra={"incidents": attached},
            )
        template.delete()
