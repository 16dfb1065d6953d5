"""Forms of the checklist template editor.

They only parse what people typed; the rules (phases that fit the kind, a playbook step on
recovery items, unique names, the one default) are checked by template_schema.py, which the API
uses too, so the page and the API cannot disagree.
"""

from __future__ import annotations

from django import forms

from incidents.models import Step

from .models import ChecklistKind, ChecklistTemplate, Phase
from .template_schema import MAX_DUE_MINUTES, MAX_ITEMS

# Display order of phases (the model orders them alphabetically).
PHASE_ORDER = {Phase.PRE: 0, Phase.DURING: 1, Phase.POST: 2, Phase.PROCEDURE: 3}


class TemplateForm(forms.Form):
    name = forms.CharField(max_length=120)
    kind = forms.ChoiceField(
        choices=ChecklistKind.choices,
        help_text="A maintenance checklist is copied into windows; a recovery procedure is "
        "attached to incidents, its items becoming tasks.",
    )
    description = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Markdown: when to use it.",
    )
    is_default = forms.BooleanField(
        required=False,
        label="Default maintenance checklist",
        help_text="New windows copy the default unless another checklist is chosen. Making "
        "this the default clears the previous one.",
    )
    active = forms.BooleanField(
        required=False,
        initial=True,
        help_text="Inactive templates are kept but not offered for new windows or incidents.",
    )

    @classmethod
    def for_template(cls, template: ChecklistTemplate | None, data=None, kind: str = ""):
        if template is None:
            initial = {"kind": kind or ChecklistKind.MAINTENANCE, "active": True}
        else:
            initial = {
                field: getattr(template, field)
                for field in ("name", "kind", "description", "is_default", "active")
            }
        return cls(data, initial=initial, prefix="template")


class ItemForm(forms.Form):
    position = forms.IntegerField(label="Order", min_value=0, max_value=10_000, required=False)
    phase = forms.ChoiceField(choices=Phase.choices, required=False)
    title = forms.CharField(max_length=200, required=False)
    description = forms.CharField(
        required=False,
        max_length=5000,
        label="What done looks like",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    required = forms.BooleanField(required=False, label="Required")
    incident_step = forms.ChoiceField(
        label="Playbook step",
        choices=[("", "—"), *Step.choices],
        required=False,
    )
    due_minutes = forms.IntegerField(
        label="Due after (min)", min_value=0, max_value=MAX_DUE_MINUTES, required=False
    )

    def item(self) -> dict | None:
        """The item this row describes, or None for a blank or removed row."""
        data = self.cleaned_data
        if not data.get("title") or data.get("DELETE"):
            return None
        item = {
            "phase": data.get("phase") or "",
            "title": data["title"],
            "description": data.get("description", ""),
            "required": data.get("required", False),
            "incident_step": data.get("incident_step") or "",
            "due_minutes": 30 if data.get("due_minutes") is None else data["due_minutes"],
        }
        if data.get("position") is not None:
            item["position"] = data["position"]
        return item


BaseItemFormSet = forms.formset_factory(
    ItemForm, extra=0, can_delete=True, max_num=MAX_ITEMS, validate_max=True
)


class ItemFormSet(BaseItemFormSet):
    def rows(self) -> list[tuple[ItemForm, dict]]:
        """(form, item) for every filled-in row, in the page's order."""
        return [(form, item) for form in self.forms if (item := form.item()) is not None]


def item_formset(template: ChecklistTemplate | None, data=None, *, kind: str = ""):
    if data is not None:
        return ItemFormSet(data, prefix="items")
    items = (
        sorted(template.items.all(), key=lambda i: (PHASE_ORDER.get(i.phase, 9), i.position))
        if template is not None
        else []
    )
    if not items:  # one blank row to start from
        kind = template.kind if template is not None else kind
        phase = Phase.PROCEDURE if kind == ChecklistKind.RECOVERY else Phase.PRE
        return ItemFormSet(prefix="items", initial=[{"phase": phase, "due_minutes": 30}])
    initial = [
        {
            "position": item.position,
            "phase": item.phase,
            "title": item.title,
            "description": item.description,
            "required": item.required,
            "incident_step": item.incident_step,
            "due_minutes": item.due_minutes,
        }
        for item in items
    ]
    return ItemFormSet(prefix="items", initial=initial)
