"""REST API of backup verification under /api/v1/:

- `backup-checks/` — checks, newest first (filters `target`, `state`, `window`, `schedule`);
  POST `{target, dump_path?, window?}` queues one and answers 202 with the queued row (poll it
  for the outcome). A dump outside MAINTENANCE_BACKUP_DIR, a missing dump or a non-PostgreSQL
  target answers 400 with the error code (`dump_outside_directory`, `dump_missing`, …).
- `backup-schedules/` — one schedule per PostgreSQL target, run by the beat sweeper.

Reading needs MAINTENANCE_READ; running checks and changing schedules MAINTENANCE_MANAGE.
"""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from accounts.permissions import Perm
from catalog.models import Target

from .api import call
from .backup import services
from .models import BackupSchedule, BackupState, BackupVerification, MaintenanceWindow

MAX_ID = 2**63 - 1
READ = [Perm.MAINTENANCE_READ]
MANAGE = [Perm.MAINTENANCE_MANAGE]
ERRORS = {400: OpenApiResponse(description="Invalid input: target kind, dump path, interval")}


def bounded_pk(queryset, **kwargs):
    return serializers.PrimaryKeyRelatedField(
        queryset=queryset,
        pk_field=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        **kwargs,
    )


# --- Checks -----------------------------------------------------------------------------------


class RowCountSerializer(serializers.Serializer):
    source = serializers.IntegerField(allow_null=True, help_text="null: no such table there")
    restored = serializers.IntegerField(allow_null=True)


class BackupCheckSerializer(serializers.ModelSerializer):
    target_label = serializers.CharField(source="target.__str__", read_only=True)
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = BackupVerification
        fields = [
            "id",
            "target",
            "target_label",
            "window",
            "schedule",
            "dump_path",
            "state",
            "summary",
            "error",
            "requested_by",
            "scratch_database",
            "attempts",
            "created_at",
            "started_at",
            "finished_at",
            "duration_ms",
        ]
        read_only_fields = fields


class BackupCheckDetailSerializer(BackupCheckSerializer):
    row_counts = serializers.DictField(
        child=RowCountSerializer(), read_only=True, help_text="Per `schema.table`."
    )

    class Meta(BackupCheckSerializer.Meta):
        fields = [*BackupCheckSerializer.Meta.fields, "schema_diff", "row_counts"]
        read_only_fields = fields


class BackupCheckStartSerializer(serializers.Serializer):
    target = bounded_pk(Target.objects.select_related("service"))
    dump_path = serializers.CharField(
        max_length=500,
        required=False,
        allow_blank=True,
        default="",
        help_text="A custom-format dump inside MAINTENANCE_BACKUP_DIR (relative to it or "
        "absolute); empty: take a fresh pg_dump of the target.",
    )
    window = bounded_pk(MaintenanceWindow.objects.all(), required=False, allow_null=True)


class BackupCheckFilter(django_filters.FilterSet):
    target = django_filters.NumberFilter(min_value=1, max_value=MAX_ID)
    window = django_filters.NumberFilter(min_value=1, max_value=MAX_ID)
    schedule = django_filters.NumberFilter(min_value=1, max_value=MAX_ID)
    state = django_filters.ChoiceFilter(choices=BackupState.choices)

    class Meta:
        model = BackupVerification
        fields = ["target", "window", "schedule", "state"]


class BackupCheckViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    filterset_class = BackupCheckFilter
    ordering_fields = ["created_at", "finished_at"]
    permission_map = {"list": READ, "retrieve": READ, "create": MANAGE}

    def get_queryset(self):
        query = BackupVerification.objects.select_related("target__service", "requested_by")
        if self.action == "list":
            query = query.defer("schema_diff", "row_counts")  # up to 100 kB each: detail only
        return query.order_by("-created_at", "-id")

    def get_serializer_class(self):
        return BackupCheckSerializer if self.action == "list" else BackupCheckDetailSerializer

    @extend_schema(
        request=BackupCheckStartSerializer,
        responses={202: BackupCheckDetailSerializer, **ERRORS},
    )
    def create(self, request, *args, **kwargs):
        data = BackupCheckStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        check = call(services.backup_check_request, by=request.user, **data.validated_data)
        check = self.get_queryset().get(pk=check.pk)
        return Response(BackupCheckDetailSerializer(check).data, status=status.HTTP_202_ACCEPTED)


# --- Schedules --------------------------------------------------------------------------------


class BackupScheduleSerializer(serializers.ModelSerializer):
    target = bounded_pk(Target.objects.select_related("service"))
    target_label = serializers.CharField(source="target.__str__", read_only=True)
    interval_hours = serializers.IntegerField(
        min_value=1, max_value=services.MAX_INTERVAL_HOURS, default=24
    )

    class Meta:
        model = BackupSchedule
        fields = [
            "id",
            "target",
            "target_label",
            "dump_path",
            "interval_hours",
            "enabled",
            "next_run_at",
            "last_run_at",
        ]
        read_only_fields = ["last_run_at"]
        # Uniqueness per target is the service's rule (a 400 with `schedule_exists`).
        validators = []
        extra_kwargs = {"next_run_at": {"required": False}}


class BackupScheduleViewSet(viewsets.ModelViewSet):
    serializer_class = BackupScheduleSerializer
    filterset_fields = ["enabled"]
    permission_map = {
        "list": READ,
        "retrieve": READ,
        "create": MANAGE,
        "update": MANAGE,
        "partial_update": MANAGE,
        "destroy": MANAGE,
    }

    def get_queryset(self):
        return BackupSchedule.objects.select_related("target__service").order_by(
            "next_run_at", "id"
        )

    @extend_schema(responses={201: BackupScheduleSerializer, **ERRORS})
    def create(self, request, *args, **kwargs):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        schedule = call(services.backup_schedule_save, **data.validated_data)
        return Response(self.get_serializer(schedule).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: BackupScheduleSerializer, **ERRORS})
    def update(self, request, *args, **kwargs):
        schedule = self.get_object()
        partial = kwargs.pop("partial", False)
        data = self.get_serializer(schedule, data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        values = {
            "target": schedule.target,
            "dump_path": schedule.dump_path,
            "interval_hours": schedule.interval_hours,
            "enabled": schedule.enabled,
            **data.validated_data,
        }
        schedule = call(services.backup_schedule_save, schedule=schedule, **values)
        return Response(self.get_serializer(schedule).data)

    def perform_destroy(self, instance):
        services.backup_schedule_delete(schedule=instance)
