"""Serializers of the incidents API (read shapes and the inputs of each action)."""

from __future__ import annotations

from django.db.models import Q
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from catalog.models import ComponentStatus, Service

from .models import (
    Incident,
    IncidentTask,
    Severity,
    Status,
    Symptom,
    TimelineEvent,
)
from .playbook import allowed_targets
from .services import PUBLIC_UPDATE_STATUSES

MAX_TEXT = 20_000


class ServiceBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Service
        fields = ["id", "slug", "name"]
        read_only_fields = fields


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}], "example": "checkout"})
class ServiceRefField(serializers.Field):
    """A service given by id or slug (input only)."""

    default_error_messages = {"does_not_exist": "No service with id or slug {value!r}."}

    def to_internal_value(self, data):
        value = str(data).strip()
        if not value or len(value) > 100:
            self.fail("does_not_exist", value=value[:100])
        match = Q(slug=value) | (Q(pk=int(value)) if value.isdigit() and len(value) < 18 else Q())
        service = Service.objects.filter(match).first()
        if service is None:
            self.fail("does_not_exist", value=value)
        return service

    def to_representation(self, value):
        return value.slug


class UsernameField(serializers.SlugRelatedField):
    def __init__(self, **kwargs):
        super().__init__(
            slug_field="username", queryset=User.objects.filter(is_active=True), **kwargs
        )


class IncidentSerializer(serializers.ModelSerializer):
    ref = serializers.CharField(read_only=True)
    commander = serializers.SlugRelatedField(slug_field="username", read_only=True)
    responders = serializers.SlugRelatedField(slug_field="username", many=True, read_only=True)
    services = ServiceBriefSerializer(many=True, read_only=True)
    time_to_acknowledge_seconds = serializers.SerializerMethodField()
    time_to_resolve_seconds = serializers.SerializerMethodField()
    allowed_transitions = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = [
            "id",
            "ref",
            "number",
            "title",
            "public_title",
            "severity",
            "status",
            "commander",
            "responders",
            "services",
            "symptom",
            "impact_summary",
            "customer_facing",
            "detected_at",
            "acknowledged_at",
            "mitigated_at",
            "resolved_at",
            "closed_at",
            "created_at",
            "updated_at",
            "time_to_acknowledge_seconds",
            "time_to_resolve_seconds",
            "allowed_transitions",
            "last_seq",
            "escalation_level",
        ]
        read_only_fields = fields

    def get_time_to_acknowledge_seconds(self, obj) -> float | None:
        value = obj.time_to_acknowledge
        return value.total_seconds() if value is not None else None

    def get_time_to_resolve_seconds(self, obj) -> float | None:
        value = obj.time_to_resolve
        return value.total_seconds() if value is not None else None

    def get_allowed_transitions(self, obj) -> list[str]:
        return list(allowed_targets(obj.status))


class IncidentCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    severity = serializers.ChoiceField(choices=Severity.choices)
    services = serializers.ListField(
        child=ServiceRefField(),
        required=False,
        default=list,
        max_length=50,
        help_text="Service ids or slugs.",
    )
    symptom = serializers.ChoiceField(choices=Symptom.choices, default=Symptom.OTHER)
    commander = UsernameField(required=False, allow_null=True, help_text="Defaults to you.")
    impact_summary = serializers.CharField(
        max_length=MAX_TEXT, required=False, default="", allow_blank=True
    )
    customer_facing = serializers.BooleanField(required=False, default=False)
    detected_at = serializers.DateTimeField(required=False)


class IncidentUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    public_title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    symptom = serializers.ChoiceField(choices=Symptom.choices, required=False)
    impact_summary = serializers.CharField(max_length=MAX_TEXT, required=False, allow_blank=True)
    customer_facing = serializers.BooleanField(required=False)
    commander = UsernameField(required=False, allow_null=True)
    services = serializers.ListField(child=ServiceRefField(), required=False, max_length=50)


class TransitionSerializer(serializers.Serializer):
    to = serializers.ChoiceField(choices=Status.choices)
    note = serializers.CharField(max_length=MAX_TEXT, required=False, default="", allow_blank=True)
    waiver = serializers.CharField(
        max_length=MAX_TEXT,
        required=False,
        default="",
        allow_blank=True,
        help_text="Why to go ahead without the evidence an evidence gate asks for "
        "(recorded on the timeline). Only needed when a first attempt answered 409 "
        "`evidence_required`.",
    )


class NoteSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=MAX_TEXT)


class PublicUpdateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[(s, s) for s in PUBLIC_UPDATE_STATUSES])
    body = serializers.CharField(max_length=MAX_TEXT)
    component_status = serializers.ChoiceField(
        choices=ComponentStatus.choices,
        required=False,
        allow_null=True,
        help_text="Sets every affected service's status-page component status.",
    )


class TimelineEventSerializer(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = TimelineEvent
        fields = ["seq", "kind", "visibility", "created_at", "author", "body", "data"]
        read_only_fields = fields


class TimelinePageSerializer(serializers.Serializer):
    results = TimelineEventSerializer(many=True)
    next = serializers.URLField(
        allow_null=True, help_text="The next page (?after=<last seq>), or null."
    )
    last_seq = serializers.IntegerField(help_text="The incident's newest seq.")


class TaskSerializer(serializers.ModelSerializer):
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True)
    completed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    incident = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = IncidentTask
        fields = [
            "id",
            "incident",
            "step",
            "title",
            "description",
            "status",
            "assignee",
            "due_at",
            "completed_at",
            "completed_by",
            "skip_reason",
        ]
        read_only_fields = fields


class TaskSkipSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class TaskAssignSerializer(serializers.Serializer):
    assignee = UsernameField(allow_null=True)
