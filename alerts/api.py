"""REST API: /api/v1/alert-groups/ (read, acknowledge, resolve, link), and the admin-only
/api/v1/integrations/ and /api/v1/routing-rules/."""

from __future__ import annotations

import django_filters
from django.db.models import Q
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.permissions import Perm
from catalog.models import Service
from incidents.models import Incident, Severity
from incidents.services import IncidentClosed

from . import services
from .endpoints import ingest_url
from .models import (
    Alert,
    AlertGroup,
    GroupStatus,
    Integration,
    IntegrationKind,
    RoutingRule,
)
from .rules import ConditionSerializer

MAX_ID = 2**63 - 1
READ = [Perm.ALERTS_READ]
RESPOND = [Perm.INCIDENTS_RESPOND]
COMMAND = [Perm.INCIDENTS_COMMAND]
MANAGE = [Perm.INTEGRATIONS_MANAGE]


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


# --- Serializers ------------------------------------------------------------------------------


class AlertGroupSerializer(serializers.ModelSerializer):
    integration = serializers.SerializerMethodField()
    service = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    incident = serializers.SerializerMethodField()

    class Meta:
        model = AlertGroup
        fields = [
            "id",
            "integration",
            "dedup_key",
            "status",
            "title",
            "source",
            "source_severity",
            "severity",
            "service",
            "action",
            "suppressed",
            "incident",
            "alert_count",
            "labels",
            "annotations",
            "links",
            "first_seen",
            "last_seen",
            "acknowledged_at",
            "resolved_at",
            "routed_at",
        ]
        read_only_fields = fields

    def get_integration(self, group) -> dict:
        return {
            "id": group.integration_id,
            "name": group.integration.name,
            "kind": group.integration.kind,
        }

    def get_incident(self, group) -> dict | None:
        if group.incident_id is None:
            return None
        return {"id": group.incident_id, "ref": group.incident.ref}


class AlertSerializer(serializers.ModelSerializer):
    class Meta:
        model = Alert
        fields = [
            "id",
            "action",
            "summary",
            "event_key",
            "labels",
            "annotations",
            "starts_at",
            "ends_at",
            "generator_url",
            "payload",
            "received_at",
            "raw_event",
        ]
        read_only_fields = fields


class LinkSerializer(serializers.Serializer):
    incident = serializers.PrimaryKeyRelatedField(queryset=Incident.objects.all())


class AlertGroupFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=[("open", "Open"), *GroupStatus.choices], method="filter_status"
    )
    # Bounded to BIGINT: SQLite raises OverflowError (a 500) on larger ids (found by schemathesis).
    integration = django_filters.NumberFilter(
        field_name="integration_id", min_value=1, max_value=MAX_ID
    )
    service = django_filters.CharFilter(field_name="service__slug")
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    incident = django_filters.NumberFilter(field_name="incident_id", min_value=1, max_value=MAX_ID)
    q = django_filters.CharFilter(method="filter_text")

    class Meta:
        model = AlertGroup
        fields = []

    def filter_status(self, queryset, name, value):
        if value == "open":
            return queryset.open()
        return queryset.filter(status=value)

    def filter_text(self, queryset, name, value):
        return queryset.filter(Q(title__icontains=value) | Q(dedup_key__icontains=value))


@extend_schema_view(
    list=extend_schema(
        description="Alert groups, newest activity first. `status=open` for "
        "firing and acknowledged ones."
    ),
)
class AlertGroupViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = AlertGroupSerializer
    filterset_class = AlertGroupFilter
    ordering_fields = ["last_seen", "first_seen", "alert_count"]
    ordering = ["-last_seen"]
    permission_map = {
        "list": READ,
        "retrieve": READ,
        "alerts": READ,
        "acknowledge": RESPOND,
        "resolve": RESPOND,
        "link": COMMAND,
    }

    def get_queryset(self):
        return AlertGroup.objects.for_listing().order_by("-last_seen", "-pk")

    @extend_schema(responses={200: AlertSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def alerts(self, request, pk=None):
        group = self.get_object()
        page = self.paginate_queryset(Alert.objects.filter(group=group).order_by("-pk"))
        return self.get_paginated_response(AlertSerializer(page, many=True).data)

    def _act(self, service_call, **kwargs):
        group = self.get_object()
        try:
            service_call(group=group, by=self.request.user, **kwargs)
        except (services.GroupResolved, IncidentClosed) as exc:
            raise Conflict(str(exc)) from exc
        return Response(AlertGroupSerializer(self.get_queryset().get(pk=group.pk)).data)

    @extend_schema(
        request=None,
        responses={200: AlertGroupSerializer, 409: OpenApiResponse(description="Resolved.")},
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        return self._act(services.group_acknowledge)

    @extend_schema(
        request=None,
        responses={200: AlertGroupSerializer, 409: OpenApiResponse(description="Resolved.")},
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        return self._act(services.group_resolve)

    @extend_schema(
        request=LinkSerializer,
        responses={200: AlertGroupSerializer, 409: OpenApiResponse(description="Closed.")},
    )
    @action(detail=True, methods=["post"])
    def link(self, request, pk=None):
        data = LinkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._act(services.group_link_incident, incident=data.validated_data["incident"])


# --- Integrations (admin) ---------------------------------------------------------------------

SEVERITY_WORDS = ("critical", "error", "warning", "info")


def _validate_severity_map(value: dict) -> dict:
    if not isinstance(value, dict):
        raise serializers.ValidationError("Must be an object of source severity → P0..P3.")
    bad = {k: v for k, v in value.items() if not isinstance(k, str) or v not in Severity.values}
    if bad or len(value) > 50:
        raise serializers.ValidationError(
            "Map source severity words (e.g. critical, error, warning, info) to P0, P1, P2 or P3."
        )
    return {key.lower()[:40]: level for key, level in value.items()}


class IntegrationSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="Where the alerting tool posts.")
    default_service = serializers.SlugRelatedField(
        slug_field="slug", queryset=Service.objects.all(), required=False, allow_null=True
    )
    severity_map = serializers.JSONField(required=False, validators=[_validate_severity_map])
    rate_limit_per_minute = serializers.IntegerField(
        required=False, min_value=0, max_value=1_000_000
    )

    class Meta:
        model = Integration
        fields = [
            "id",
            "kind",
            "name",
            "url",
            "token_prefix",
            "enabled",
            "default_service",
            "default_severity",
            "severity_map",
            "rate_limit_per_minute",
            "auto_resolve_incidents",
            "created_at",
            "token_rotated_at",
            "disabled_at",
        ]
        read_only_fields = [
            "id",
            "url",
            "token_prefix",
            "created_at",
            "token_rotated_at",
            "disabled_at",
        ]

    def get_url(self, integration) -> str:
        return ingest_url(integration.kind)

    def validate_kind(self, value):
        if self.instance is not None and value != self.instance.kind:
            raise serializers.ValidationError("The kind of an integration cannot change.")
        return value


class IssuedIntegrationSerializer(IntegrationSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(IntegrationSerializer.Meta):
        fields = [*IntegrationSerializer.Meta.fields, "token"]


class IntegrationCreateSerializer(IntegrationSerializer):
    kind = serializers.ChoiceField(choices=IntegrationKind.choices)


@extend_schema_view(
    create=extend_schema(
        request=IntegrationCreateSerializer,
        responses={201: IssuedIntegrationSerializer},
        description="Create an integration. The token is in this response "
        "only: it is stored as a hash.",
    ),
)
class IntegrationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = IntegrationSerializer
    queryset = Integration.objects.select_related("default_service").order_by("name")
    permission_map = {
        "list": MANAGE,
        "retrieve": MANAGE,
        "create": MANAGE,
        "update": MANAGE,
        "partial_update": MANAGE,
        "rotate_token": MANAGE,
    }

    def create(self, request, *args, **kwargs):
        data = IntegrationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        if Integration.objects.filter(name=values["name"].strip()).exists():
            raise serializers.ValidationError({"name": ["An integration with this name exists."]})
        enabled = values.pop("enabled", True)
        issued = services.integration_create(by=request.user, **values)
        if not enabled:
            services.integration_set_enabled(
                integration=issued.integration, enabled=False, by=request.user
            )
        body = IntegrationSerializer(issued.integration).data | {"token": issued.token}
        return Response(body, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        enabled = serializer.validated_data.pop("enabled", None)
        integration = serializer.save()
        if enabled is not None and enabled != integration.enabled:
            services.integration_set_enabled(
                integration=integration, enabled=enabled, by=self.request.user
            )

    @extend_schema(request=None, responses={200: IssuedIntegrationSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-token")
    def rotate_token(self, request, pk=None):
        issued = services.integration_rotate_token(integration=self.get_object(), by=request.user)
        return Response(IntegrationSerializer(issued.integration).data | {"token": issued.token})


class RoutingRuleSerializer(serializers.ModelSerializer):
    conditions = ConditionSerializer(many=True, required=False)
    service = serializers.SlugRelatedField(
        slug_field="slug", queryset=Service.objects.all(), required=False, allow_null=True
    )
    integration = serializers.PrimaryKeyRelatedField(
        queryset=Integration.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = RoutingRule
        fields = [
            "id",
            "integration",
            "position",
            "name",
            "conditions",
            "service",
            "severity",
            "symptom",
            "action",
            "enabled",
        ]

    def validate_conditions(self, value):
        if len(value) > 20:
            raise serializers.ValidationError("At most 20 conditions per rule.")
        return [dict(condition) for condition in value]


class RoutingRuleViewSet(viewsets.ModelViewSet):
    """Ordered routing rules; the first enabled match decides (integration rules first)."""

    serializer_class = RoutingRuleSerializer
    queryset = RoutingRule.objects.select_related("service").order_by(
        "integration_id", "position", "pk"
    )
    filterset_fields = ["integration"]
    permission_map = {
        "list": MANAGE,
        "retrieve": MANAGE,
        "create": MANAGE,
        "update": MANAGE,
        "partial_update": MANAGE,
        "destroy": MANAGE,
    }
