"""REST API of maintenance windows under /api/v1/maintenance-windows/.

- list/retrieve/create/partial_update — windows with their checklist; filters `state`,
  `service` (id), `public`, `starts_after`, `starts_before`.
- `{id}/start/`, `{id}/verify/`, `{id}/complete/`, `{id}/cancel/`, `{id}/extend/` — the state
  machine; a refused move answers 409 `{"type": code, "detail", "extra"}` (e.g. `checklist_open`
  with the open items, `regression_unacknowledged` with the probes that got worse).
- `{id}/checklist/` (add an item) and `{id}/checklist/{item_id}/` (tick or untick it).
- `{id}/events/?after=<seq>` — the window's log; `{id}/notes/` — add a note.
"""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.permissions import Perm
from catalog.models import Service
from ops_portal.api_errors import call_service as call

from . import services
from .models import (
    WINDOW_PHASES,
    ChecklistItem,
    ChecklistKind,
    ChecklistTemplate,
    MaintenanceWindow,
    WindowEvent,
    WindowState,
)
from .selectors import windows_for_listing
from .snapshots import snapshot_comparison

MAX_ID = 2**63 - 1
READ = [Perm.MAINTENANCE_READ]
WORK = [Perm.MAINTENANCE_WORK]
MANAGE = [Perm.MAINTENANCE_MANAGE]


# --- Serializers ------------------------------------------------------------------------------


class WindowChecklistItemSerializer(serializers.ModelSerializer):
    done = serializers.BooleanField(read_only=True)
    done_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ChecklistItem
        fields = [
            "id",
            "phase",
            "title",
            "description",
            "required",
            "position",
            "done",
            "done_at",
            "done_by",
            "note",
        ]


class SnapshotRowSerializer(serializers.Serializer):
    probe = serializers.CharField()
    target = serializers.CharField()
    before = serializers.CharField()
    after = serializers.CharField()
    worse = serializers.BooleanField()


class WindowSerializer(serializers.ModelSerializer):
    ref = serializers.CharField(read_only=True)
    services = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = MaintenanceWindow
        fields = [
            "id",
            "ref",
            "title",
            "description",
            "services",
            "scheduled_start",
            "scheduled_end",
            "state",
            "owner",
            "rollback_plan",
            "public",
            "started_at",
            "verifying_at",
            "completed_at",
            "cancelled_at",
            "before_snapshot",
            "after_snapshot",
            "regression_acknowledged_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class WindowDetailSerializer(WindowSerializer):
    checklist = WindowChecklistItemSerializer(many=True, read_only=True)
    snapshot_comparison = serializers.SerializerMethodField()

    class Meta(WindowSerializer.Meta):
        fields = [*WindowSerializer.Meta.fields, "checklist", "snapshot_comparison"]
        read_only_fields = fields

    @extend_schema_field(SnapshotRowSerializer(many=True))
    def get_snapshot_comparison(self, window) -> list[dict]:
        return [row.as_dict() for row in snapshot_comparison(window).rows]


class WindowWriteSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    services = serializers.SlugRelatedField(
        slug_field="slug", many=True, queryset=Service.objects.all(), allow_empty=False
    )
    scheduled_start = serializers.DateTimeField()
    scheduled_end = serializers.DateTimeField()
    owner = serializers.SlugRelatedField(
        slug_field="username",
        queryset=MaintenanceWindow._meta.get_field("owner").related_model.objects.all(),
        required=False,
        allow_null=True,
    )
    rollback_plan = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    public = serializers.BooleanField(required=False, default=True)
    checklist_template = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=ChecklistTemplate.objects.filter(kind=ChecklistKind.MAINTENANCE, active=True),
        required=False,
        allow_null=True,
        help_text="Slug of the checklist to copy; the default checklist when omitted.",
    )
    confirm_overlap = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Plan it even though another window covers some services at that time.",
    )

    def validate(self, attrs):
        start, end = attrs.get("scheduled_start"), attrs.get("scheduled_end")
        if start and end and end <= start:
            raise serializers.ValidationError({"scheduled_end": ["Must be after the start."]})
        return attrs


class WindowUpdateSerializer(WindowWriteSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.required = False
            if name == "public":
                field.default = serializers.empty
        self.fields.pop("checklist_template")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class StartSerializer(serializers.Serializer):
    override_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="Admins only: start although required 'before' items are open (logged).",
    )


class CompleteSerializer(StartSerializer):
    acknowledge_regression = serializers.BooleanField(required=False, default=False)


class ExtendSerializer(serializers.Serializer):
    scheduled_end = serializers.DateTimeField()
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class ChecklistAddSerializer(serializers.Serializer):
    phase = serializers.ChoiceField(choices=WINDOW_PHASES)
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    required = serializers.BooleanField(required=False, default=False)


class ChecklistSetSerializer(serializers.Serializer):
    done = serializers.BooleanField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)


class WindowNoteSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=20000)


class WindowEventSerializer(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = WindowEvent
        fields = ["seq", "kind", "visibility", "created_at", "author", "body", "data"]
        read_only_fields = fields


# --- Views ------------------------------------------------------------------------------------


class WindowFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=WindowState.choices)
    service = django_filters.ModelChoiceFilter(
        field_name="services", queryset=Service.objects.all(), label="Service id"
    )
    public = django_filters.BooleanFilter()
    starts_after = django_filters.IsoDateTimeFilter(field_name="scheduled_start", lookup_expr="gte")
    starts_before = django_filters.IsoDateTimeFilter(field_name="scheduled_start", lookup_expr="lt")

    class Meta:
        model = MaintenanceWindow
        fields = ["state", "service", "public", "starts_after", "starts_before"]


ERRORS = {
    400: OpenApiResponse(description="Invalid input"),
    403: OpenApiResponse(description="Not allowed (e.g. an override by a non-admin)"),
    409: OpenApiResponse(description="Refused by the window's state, checklist or snapshots"),
}


class MaintenanceWindowViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    filterset_class = WindowFilter
    http_method_names = ["get", "post", "patch", "head", "options"]
    permission_map = {
        "list": READ,
        "retrieve": READ,
        "events": READ,
        "create": MANAGE,
        "partial_update": MANAGE,
        "start": MANAGE,
        "verify": MANAGE,
        "complete": MANAGE,
        "cancel": MANAGE,
        "extend": MANAGE,
        "checklist_add": WORK,
        "checklist_set": WORK,
        "notes": WORK,
    }

    def get_queryset(self):
        query = windows_for_listing().order_by("-scheduled_start", "-id")
        if self.action == "retrieve":
            query = query.select_related("before_snapshot", "after_snapshot").prefetch_related(
                "checklist__done_by"
            )
        return query

    def get_serializer_class(self):
        return WindowDetailSerializer if self.action == "retrieve" else WindowSerializer

    def _detail(self, window: MaintenanceWindow, code=status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().select_related("before_snapshot", "after_snapshot")
        window = fresh.prefetch_related("checklist__done_by").get(pk=window.pk)
        return Response(WindowDetailSerializer(window).data, status=code)

    @extend_schema(request=WindowWriteSerializer, responses={201: WindowDetailSerializer, **ERRORS})
    def create(self, request, *args, **kwargs):
        data = WindowWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        template = values.pop("checklist_template", None)
        window = call(services.window_create, by=request.user, template=template, **values)
        return self._detail(window, status.HTTP_201_CREATED)

    @extend_schema(
        request=WindowUpdateSerializer, responses={200: WindowDetailSerializer, **ERRORS}
    )
    def partial_update(self, request, *args, **kwargs):
        window = self.get_object()
        data = WindowUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        confirm = values.pop("confirm_overlap", False)
        if "scheduled_start" in values or "scheduled_end" in values:
            start = values.get("scheduled_start", window.scheduled_start)
            end = values.get("scheduled_end", window.scheduled_end)
            if end <= start:
                raise exceptions.ValidationError({"scheduled_end": ["Must be after the start."]})
        window = call(
            services.window_update,
            window=window,
            by=request.user,
            confirm_overlap=confirm,
            **values,
        )
        return self._detail(window)

    @extend_schema(request=StartSerializer, responses={200: WindowDetailSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        data = StartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        window = call(
            services.window_start,
            window=self.get_object(),
            by=request.user,
            override_reason=data.validated_data.get("override_reason", ""),
        )
        return self._detail(window)

    @extend_schema(request=None, responses={200: WindowDetailSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        window = call(services.window_verify, window=self.get_object(), by=request.user)
        return self._detail(window)

    @extend_schema(request=CompleteSerializer, responses={200: WindowDetailSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        data = CompleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        window = call(
            services.window_complete,
            window=self.get_object(),
            by=request.user,
            override_reason=data.validated_data.get("override_reason", ""),
            acknowledge_regression=data.validated_data["acknowledge_regression"],
        )
        return self._detail(window)

    @extend_schema(request=ReasonSerializer, responses={200: WindowDetailSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        window = call(
            services.window_cancel,
            window=self.get_object(),
            by=request.user,
            reason=data.validated_data.get("reason", ""),
        )
        return self._detail(window)

    @extend_schema(request=ExtendSerializer, responses={200: WindowDetailSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def extend(self, request, pk=None):
        data = ExtendSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        window = call(
            services.window_extend,
            window=self.get_object(),
            by=request.user,
            scheduled_end=data.validated_data["scheduled_end"],
            reason=data.validated_data.get("reason", ""),
        )
        return self._detail(window)

    @extend_schema(
        request=ChecklistAddSerializer,
        responses={201: WindowChecklistItemSerializer, **ERRORS},
        operation_id="v1_maintenance_windows_checklist_add",
    )
    @action(detail=True, methods=["post"], url_path="checklist")
    def checklist_add(self, request, pk=None):
        data = ChecklistAddSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = call(
            services.checklist_item_add, window=self.get_object(), by=request.user, **data.data
        )
        return Response(WindowChecklistItemSerializer(item).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=ChecklistSetSerializer,
        responses={200: WindowChecklistItemSerializer, **ERRORS},
        parameters=[OpenApiParameter("item_id", int, OpenApiParameter.PATH)],
        operation_id="v1_maintenance_windows_checklist_set",
    )
    @action(detail=True, methods=["post"], url_path=r"checklist/(?P<item_id>[0-9]{1,18})")
    def checklist_set(self, request, pk=None, item_id=None):
        window = self.get_object()
        item = window.checklist.filter(pk=int(item_id)).first()
        if item is None:
            raise exceptions.NotFound("No such checklist item on this window.")
        data = ChecklistSetSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = call(
            services.checklist_item_set,
            item=item,
            by=request.user,
            done=data.validated_data["done"],
            note=data.validated_data.get("note", ""),
        )
        return Response(WindowChecklistItemSerializer(item).data)

    @extend_schema(
        responses=WindowEventSerializer(many=True),
        parameters=[OpenApiParameter("after", int, description="Only events with a higher seq.")],
    )
    @action(detail=True, methods=["get"])
    def events(self, request, pk=None):
        window = self.get_object()
        after = request.query_params.get("after", "0")
        if not after.isdigit() or len(after) > 9:
            raise exceptions.ValidationError({"after": ["A non-negative integer."]})
        rows = window.events.filter(seq__gt=int(after)).select_related("author").order_by("seq")
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(WindowEventSerializer(page, many=True).data)

    @extend_schema(request=WindowNoteSerializer, responses={201: WindowEventSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def notes(self, request, pk=None):
        data = WindowNoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        event = call(
            services.note_add,
            window=self.get_object(),
            by=request.user,
            body=data.validated_data["body"],
        )
        return Response(WindowEventSerializer(event).data, status=status.HTTP_201_CREATED)
