"""One validation of a checklist template and its items, shared by the API and the editor page.

Like diagnostics/runbook_schema.py, these are DRF serializers so the same rules answer a 400 in
the API and a field error on the page. The rules: maintenance checklists have before/during/after
items, recovery procedures have `procedure` items that each name the incident playbook step
their task lands in; names and slugs are unique. Saving goes through checklists.template_save
(the cross-template default rule) and replaces the items as a whole: the list is the checklist.
"""

from __future__ import annotations

from django.utils.text import slugify
from rest_framework import serializers

from incidents.models import Step

from . import checklists
from .errors import MaintenanceError
from .models import ChecklistKind, ChecklistTemplate, ChecklistTemplateItem, Phase

MAX_ITEMS = 100
MAX_DUE_MINUTES = 7 * 24 * 60
MAINTENANCE_PHASES = (Phase.PRE, Phase.DURING, Phase.POST)


class ChecklistItemSerializer(serializers.ModelSerializer):
    phase = serializers.ChoiceField(
        choices=Phase.choices,
        required=False,
        help_text="pre, during or post for maintenance checklists; procedure (the default) for "
        "recovery procedures.",
    )
    incident_step = serializers.ChoiceField(
        choices=Step.choices,
        allow_blank=True,
        required=False,
        help_text="Recovery procedures: the playbook step the item's incident task lands in.",
    )
    due_minutes = serializers.IntegerField(
        min_value=0,
        max_value=MAX_DUE_MINUTES,
        required=False,
        default=30,
        help_text="Recovery procedures: the task is due this long after attaching.",
    )
    position = serializers.IntegerField(min_value=0, max_value=10_000, required=False)

    class Meta:
        model = ChecklistTemplateItem
        fields = [
            "id",
            "phase",
            "title",
            "description",
            "required",
            "incident_step",
            "due_minutes",
            "position",
        ]
        read_only_fields = ["id"]


class ChecklistTemplateSerializer(serializers.ModelSerializer):
    items = ChecklistItemSerializer(many=True)
    # Declared so that uniqueness is checked once, in validate(), with one message.
    name = serializers.CharField(max_length=120)
    slug = serializers.SlugField(max_length=120, required=False)
    kind = serializers.ChoiceField(choices=ChecklistKind.choices)

    class Meta:
        model = ChecklistTemplate
        fields = [
            "id",
            "name",
            "slug",
            "kind",
            "description",
            "is_default",
            "active",
            "items",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators = []  # uniqueness is checked in validate() with one message per field

    def validate_items(self, items):
        if len(items) > MAX_ITEMS:
            raise serializers.ValidationError(f"At most {MAX_ITEMS} items.")
        return items

    def validate(self, attrs):
        instance = self.instance
        if not attrs.get("slug") and instance is None:
            attrs["slug"] = slugify(attrs.get("name", ""))[:120] or "checklist"
        for field in ("name", "slug"):
            value = attrs.get(field)
            if value:
                taken = ChecklistTemplate.objects.filter(**{field: value})
                if instance is not None:
                    taken = taken.exclude(pk=instance.pk)
                if taken.exists():
                    raise serializers.ValidationError({field: ["Already in use."]})
        kind = attrs.get("kind", instance.kind if instance else "")
        if "items" in attrs:
            attrs["items"] = self._checked_items(kind, attrs["items"])
        elif instance is not None and "kind" in attrs and attrs["kind"] != instance.kind:
            # The stored items were checked against the old kind.
            self._checked_items(kind, list(instance.items.values()))
        return attrs

    @staticmethod
    def _checked_items(kind: str, items: list[dict]) -> list[dict]:
        """Items with their phase filled in and positions numbered; errors per item.

        Items without a position go after the highest one given, in list order.
        """
        errors, checked, any_error = [], [], False
        given = [item["position"] for item in items if item.get("position") is not None]
        next_position = max(given, default=-1) + 1
        for item in items:
            item = dict(item)
            problems: dict[str, list[str]] = {}
            if not item.get("title"):  # a PATCH does not enforce the nested required fields
                problems["title"] = ["This field is required."]
            if kind == ChecklistKind.RECOVERY:
                item["phase"] = item.get("phase") or Phase.PROCEDURE
                if item["phase"] != Phase.PROCEDURE:
                    problems["phase"] = ["Recovery procedure items have the phase “procedure”."]
                if not item.get("incident_step"):
                    problems["incident_step"] = ["Choose the playbook step the task lands in."]
            else:
                if item.get("phase") not in MAINTENANCE_PHASES:
                    problems["phase"] = ["Choose pre, during or post."]
                if item.get("incident_step"):
                    problems["incident_step"] = ["Only recovery procedure items have a step."]
            if item.get("position") is None:
                item["position"], next_position = next_position, next_position + 1
            any_error = any_error or bool(problems)
            errors.append(problems)
            checked.append(item)
        if any_error:
            raise serializers.ValidationError({"items": errors})
        return checked

    def create(self, validated_data):
        items = validated_data.pop("items")
        return self._save(None, items, validated_data)

    def update(self, instance, validated_data):
        items = validated_data.pop("items", None)
        return self._save(instance, items, validated_data)

    @staticmethod
    def _save(instance, items, fields):
        try:
            return checklists.template_save(template=instance, items=items, **fields)
        except MaintenanceError as exc:
            if exc.code == "invalid_default":
                raise serializers.ValidationError({"is_default": [exc.message]}) from exc
            raise
