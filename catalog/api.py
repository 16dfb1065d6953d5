"""REST API: /api/v1/services/, /api/v1/service-groups/, /api/v1/targets/."""

from __future__ import annotations

import django_filters
from django.db import transaction
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers, viewsets

from accounts.models import Team
from accounts.permissions import Perm

from .models import ComponentStatus, Service, ServiceGroup, Target, TargetKind
from .services import service_set_status, target_create, target_update
from .target_configs import CONFIG_SCHEMAS, TargetConfigError, validate_target_config

READ = [Perm.CATALOG_READ]
MANAGE = [Perm.CATALOG_READ, Perm.CATALOG_MANAGE]
CRUD_PERMISSIONS = {
    "list": READ,
    "retrieve": READ,
    "create": MANAGE,
    "update": MANAGE,
    "partial_update": MANAGE,
    "destroy": MANAGE,
}


class ServiceGroupSerializer(serializers.ModelSerializer):
    class Meta:
        model = ServiceGroup
        fields = ["id", "name", "slug", "description", "position", "created_at", "updated_at"]


class ServiceSerializer(serializers.ModelSerializer):
    owner_team = serializers.SlugRelatedField(
        slug_field="slug", queryset=Team.objects.all(), allow_null=True, required=False
    )
    group = serializers.PrimaryKeyRelatedField(
        queryset=ServiceGroup.objects.all(), allow_null=True, required=False
    )
    group_name = serializers.CharField(source="group.name", read_only=True, default=None)
    public_name = serializers.CharField(read_only=True)
    target_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Service
        fields = [
            "id",
            "name",
            "slug",
            "description",
            "owner_team",
            "group",
            "group_name",
            "component_name",
            "public_name",
            "status",
            "show_on_status_page",
            "position",
            "target_count",
            "created_at",
            "updated_at",
        ]

    # The status goes through service_set_status so the change is recorded (uptime history);
    # a new service starts operational and takes its given status at its creation time.
    @transaction.atomic
    def create(self, validated_data):
        status = validated_data.pop("status", ComponentStatus.OPERATIONAL)
        service = super().create(validated_data)
        return service_set_status(service=service, status=status, now=service.created_at)

    @transaction.atomic
    def update(self, instance, validated_data):
        status = validated_data.pop("status", None)
        service = super().update(instance, validated_data)
        if status is not None:
            service_set_status(service=service, status=status)
        return service


@extend_schema_field(
    PolymorphicProxySerializer(
        component_name="TargetConfig",
        serializers={kind: schema for kind, schema in CONFIG_SCHEMAS.items()},
        resource_type_field_name=None,
    )
)
class TargetConfigField(serializers.JSONField):
    """A JSON object whose shape depends on the target's kind (validated in the serializer)."""


class TargetSerializer(serializers.ModelSerializer):
    service = serializers.PrimaryKeyRelatedField(queryset=Service.objects.all())
    service_slug = serializers.CharField(source="service.slug", read_only=True)
    config = TargetConfigField()

    class Meta:
        model = Target
        fields = [
            "id",
            "service",
            "service_slug",
            "name",
            "kind",
            "config",
            "enabled",
            "created_at",
            "updated_at",
        ]
        validators = []  # the unique (service, name) check is done in validate() with a clear field

    def validate(self, attrs):
        kind = attrs.get("kind", getattr(self.instance, "kind", None))
        config = attrs.get("config", getattr(self.instance, "config", None))
        try:
            attrs["config"] = validate_target_config(kind, config)
        except TargetConfigError as exc:
            raise serializers.ValidationError({"config": exc.errors}) from exc
        service = attrs.get("service", getattr(self.instance, "service", None))
        name = attrs.get("name", getattr(self.instance, "name", None))
        clash = Target.objects.filter(service=service, name=name)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError(
                {"name": ["This service already has a target with this name."]}
            )
        return attrs

    def create(self, validated_data):
        return target_create(**validated_data)

    def update(self, instance, validated_data):
        return target_update(target=instance, **validated_data)


class ServiceFilter(django_filters.FilterSet):
    class Meta:
        model = Service
        fields = ["slug", "group", "status", "show_on_status_page"]


class ServiceViewSet(viewsets.ModelViewSet):
    serializer_class = ServiceSerializer
    filterset_class = ServiceFilter
    ordering_fields = ["name", "position", "status", "updated_at"]
    permission_map = CRUD_PERMISSIONS

    def get_queryset(self):
        return Service.objects.for_listing()


class ServiceGroupViewSet(viewsets.ModelViewSet):
    serializer_class = ServiceGroupSerializer
    queryset = ServiceGroup.objects.all()
    filterset_fields = ["slug"]
    permission_map = CRUD_PERMISSIONS


class TargetFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=TargetKind.choices)
    service_slug = django_filters.CharFilter(field_name="service__slug")

    class Meta:
        model = Target
        fields = ["service", "kind", "enabled"]


class TargetViewSet(viewsets.ModelViewSet):
    serializer_class = TargetSerializer
    filterset_class = TargetFilter
    ordering_fields = ["name", "kind", "updated_at"]
    permission_map = CRUD_PERMISSIONS

    def get_queryset(self):
        return Target.objects.select_related("service")
