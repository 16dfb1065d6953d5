"""One validation of a runbook and its steps, shared by the REST API and the runbook editor.

Like catalog/target_configs.py, these are DRF serializers so the same rules (a registered
probe, params the probe accepts, a `timeout_s` within bounds, one enabled runbook per symptom,
unique names) answer a 400 in the API and a field error on the page. Saving replaces the steps
as a whole: the list is the runbook.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.text import slugify
from rest_framework import serializers

from incidents.models import Symptom

from . import services
from .models import Runbook, RunbookStep
from .probes import registry


class RunbookStepSerializer(serializers.ModelSerializer):
    probe = serializers.ChoiceField(choices=())
    params = serializers.JSONField(required=False, default=dict)

    class Meta:
        model = RunbookStep
        fields = ["id", "position", "title", "probe", "params", "target_name"]
        read_only_fields = ["id"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["probe"].choices = sorted(probe.name for probe in registry.all())

    def validate(self, attrs):
        probe = registry.get(attrs["probe"])
        params = dict(attrs.get("params") or {})
        if not isinstance(attrs.get("params", {}), dict):
            raise serializers.ValidationError({"params": ["Must be a JSON object."]})
        timeout = params.pop("timeout_s", None)
        try:
            probe.validate_params(params)
            services._timeout(timeout, probe.default_timeout_s, probe.name)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"params": exc.detail}) from exc
        except services.DiagnosticsError as exc:
            raise serializers.ValidationError({"params": exc.errors[probe.name]}) from exc
        return attrs


class RunbookSerializer(serializers.ModelSerializer):
    steps = RunbookStepSerializer(many=True)
    symptom = serializers.ChoiceField(choices=Symptom.choices, allow_blank=True, required=False)
    slug = serializers.SlugField(max_length=120, required=False)

    class Meta:
        model = Runbook
        fields = [
            "id",
            "name",
            "slug",
            "symptom",
            "description",
            "suggested_remediations",
            "enabled",
            "steps",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        # The model's conditional unique constraint is checked in validate() with a message
        # that names the runbook already answering the symptom.
        validators = []

    def validate_steps(self, steps):
        if len(steps) > 50:
            raise serializers.ValidationError("At most 50 steps.")
        return steps

    def validate(self, attrs):
        instance = self.instance
        if not attrs.get("slug") and not instance:
            attrs["slug"] = slugify(attrs.get("name", ""))[:120] or "runbook"
        symptom = attrs.get("symptom", instance.symptom if instance else "")
        enabled = attrs.get("enabled", instance.enabled if instance else True)
        if symptom and enabled:
            clash = Runbook.objects.filter(symptom=symptom, enabled=True)
            if instance:
                clash = clash.exclude(pk=instance.pk)
            if clash.exists():
                raise serializers.ValidationError(
                    {"symptom": [f"Runbook “{clash.first().name}” already runs for this symptom."]}
                )
        for field, model_field in (("name", "name"), ("slug", "slug")):
            value = attrs.get(field)
            if value:
                taken = Runbook.objects.filter(**{model_field: value})
                if instance:
                    taken = taken.exclude(pk=instance.pk)
                if taken.exists():
                    raise serializers.ValidationError({field: ["Already in use."]})
        return attrs

    def create(self, validated_data):
        steps = validated_data.pop("steps")
        with transaction.atomic():
            runbook = Runbook.objects.create(**validated_data)
            self._write_steps(runbook, steps)
        return runbook

    def update(self, instance, validated_data):
        steps = validated_data.pop("steps", None)
        with transaction.atomic():
            for field, value in validated_data.items():
                setattr(instance, field, value)
            instance.save()
            if steps is not None:  # steps are replaced as a whole: the list is the runbook
                instance.steps.all().delete()
                self._write_steps(instance, steps)
        return instance

    @staticmethod
    def _write_steps(runbook, steps):
        RunbookStep.objects.bulk_create(
            RunbookStep(runbook=runbook, **{**step, "position": step.get("position", i)})
            for i, step in enumerate(steps)
        )
