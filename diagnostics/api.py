"""REST API of diagnostics under /api/v1/:

- `probes/` — the probe catalogue (read): name, target kind, parameters with types and defaults.
- `runbooks/` — runbooks with their steps (read; write for RUNBOOKS_MANAGE); `runbooks/{id}/run/`.
- `diagnoses/` — probe sets (read; start a runbook or a service health check).
- `probe-runs/` — single probe runs (read; start one probe on a target; `{id}/rerun/`).
- `verifications/` — verified resolution of an incident (start, read, `{id}/cancel/`).

Starting anything answers 201 at once with the queued runs; results arrive as the workers finish
(poll the run, or watch the incident timeline).
"""

from __future__ import annotations

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.permissions import Perm
from catalog.models import Service, Target
from incidents.models import Incident

from . import services, verification
from .models import (
    Diagnosis,
    ProbeRun,
    ProbeStatus,
    Purpose,
    Runbook,
    RunState,
    Verification,
)
from .probes import registry
from .runbook_schema import RunbookSerializer

MAX_ID = 2**63 - 1
READ = [Perm.DIAGNOSTICS_READ]
START = [Perm.DIAGNOSTICS_START]
RERUN = [Perm.DIAGNOSTICS_RUN]
MANAGE = [Perm.RUNBOOKS_MANAGE]
COMMAND = [Perm.INCIDENTS_COMMAND]


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def raise_api_error(exc: services.DiagnosticsError):
    """DiagnosticsError → 409 for state conflicts, 400 (with `errors`) for bad requests."""
    if exc.code in {"illegal_transition", "already_verifying", "target_gone", "incident_closed"}:
        raise Conflict(str(exc), code=exc.code) from exc
    raise exceptions.ValidationError(exc.errors or {"non_field_errors": [str(exc)]}) from exc


def bounded_pk(queryset, **kwargs):
    return serializers.PrimaryKeyRelatedField(
        queryset=queryset,
        pk_field=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        **kwargs,
    )


# --- Probe catalogue --------------------------------------------------------------------------


class ProbeParamSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    required = serializers.BooleanField()
    help_text = serializers.CharField()
    default = serializers.JSONField(required=False)
    choices = serializers.ListField(child=serializers.JSONField(), required=False)


class ProbeSerializer(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    health = serializers.BooleanField(help_text="Part of a target's health check.")
    default_timeout_s = serializers.FloatField()
    params = ProbeParamSerializer(many=True)


def probe_data(probe) -> dict:
    return {
        "name": probe.name,
        "kind": probe.kind,
        "title": probe.title,
        "description": probe.description,
        "health": probe.health,
        "default_timeout_s": probe.default_timeout_s,
        "params": probe.describe_params(),
    }


class ProbeViewSet(viewsets.ViewSet):
    """The probes this installation can run (read-only, from the plug-in registry)."""

    permission_map = {"list": READ, "retrieve": READ}
    lookup_value_regex = r"[a-z0-9_.]+"
    lookup_field = "name"

    @extend_schema(responses=ProbeSerializer(many=True))
    def list(self, request):
        kind = request.query_params.get("kind")
        probes = registry.for_kind(kind) if kind else registry.all()
        data = [probe_data(probe) for probe in probes]
        return Response({"count": len(data), "next": None, "previous": None, "results": data})

    @extend_schema(responses=ProbeSerializer)
    def retrieve(self, request, name=None):
        if name not in registry:
            raise exceptions.NotFound(f"No probe named {name!r}.")
        return Response(probe_data(registry.get(name)))


# --- Runbooks ---------------------------------------------------------------------------------


# --- Runs and sets ----------------------------------------------------------------------------


class ProbeRunSerializer(serializers.ModelSerializer):
    incident = serializers.SerializerMethodField()
    target = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = ProbeRun
        fields = [
            "id",
            "diagnosis",
            "incident",
            "position",
            "step_title",
            "probe",
            "target",
            "target_label",
            "target_kind",
            "params",
            "timeout_s",
            "state",
            "status",
            "summary",
            "result",
            "error",
            "baseline",
            "changes",
            "attempts",
            "queued_at",
            "started_at",
            "finished_at",
            "duration_ms",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.INT)
    def get_incident(self, run):
        return run.diagnosis.incident_id


class DiagnosisSerializer(serializers.ModelSerializer):
    runs = ProbeRunSerializer(many=True, read_only=True)
    runbook = serializers.PrimaryKeyRelatedField(read_only=True)
    started_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Diagnosis
        fields = [
            "id",
            "incident",
            "service",
            "runbook",
            "purpose",
            "title",
            "trigger",
            "started_by",
            "total",
            "remaining",
            "status",
            "summary",
            "created_at",
            "finished_at",
            "runs",
        ]
        read_only_fields = fields


def _diagnosis(pk: int) -> Diagnosis:
    return (
        Diagnosis.objects.select_related("started_by")
        .prefetch_related("runs__diagnosis")
        .get(pk=pk)
    )


class DiagnosisStartSerializer(serializers.Serializer):
    """Either `runbook` + `incident`, or `service` (a health check, optionally on an incident)."""

    runbook = bounded_pk(Runbook.objects.filter(enabled=True), required=False)
    service = serializers.SlugRelatedField(
        slug_field="slug", queryset=Service.objects.all(), required=False
    )
    incident = bounded_pk(Incident.objects.all(), required=False)

    def validate(self, attrs):
        if bool(attrs.get("runbook")) == bool(attrs.get("service")):
            raise serializers.ValidationError(
                {"non_field_errors": ["Give either a runbook (with an incident) or a service."]}
            )
        if attrs.get("runbook") and not attrs.get("incident"):
            raise serializers.ValidationError(
                {"incident": ["A runbook runs on an incident's services: give the incident."]}
            )
        return attrs


class DiagnosisFilter(django_filters.FilterSet):
    incident = django_filters.NumberFilter(min_value=1, max_value=MAX_ID)
    service = django_filters.NumberFilter(min_value=1, max_value=MAX_ID)
    purpose = django_filters.ChoiceFilter(choices=Purpose.choices)
    status = django_filters.ChoiceFilter(choices=ProbeStatus.choices)

    class Meta:
        model = Diagnosis
        fields = ["incident", "service", "purpose", "status"]


class DiagnosisViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = DiagnosisSerializer
    filterset_class = DiagnosisFilter
    permission_map = {"list": READ, "retrieve": READ, "create": START}

    def get_queryset(self):
        return (
            Diagnosis.objects.select_related("started_by")
            .prefetch_related("runs__diagnosis")
            .order_by("-created_at", "-id")
        )

    @extend_schema(request=DiagnosisStartSerializer, responses={201: DiagnosisSerializer})
    def create(self, request, *args, **kwargs):
        data = DiagnosisStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            if values.get("runbook"):
                diagnosis = services.runbook_start(
                    runbook=values["runbook"],
                    incident=values["incident"],
                    by=request.user,
                    trigger=f"started by {request.user.get_username()}",
                )
            else:
                diagnosis = services.health_check_start(
                    service=values["service"], by=request.user, incident=values.get("incident")
                )
        except services.DiagnosticsError as exc:
            raise_api_error(exc)
        return Response(DiagnosisSerializer(_diagnosis(diagnosis.pk)).data, status=201)


class ProbeRunStartSerializer(serializers.Serializer):
    probe = serializers.ChoiceField(choices=())
    target = bounded_pk(Target.objects.select_related("service"))
    params = serializers.JSONField(required=False, default=dict)
    incident = bounded_pk(Incident.objects.all(), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["probe"].choices = sorted(probe.name for probe in registry.all())

    def validate_params(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return value


class ProbeRunFilter(django_filters.FilterSet):
    incident = django_filters.NumberFilter(
        field_name="diagnosis__incident", min_value=1, max_value=MAX_ID
    )
    diagnosis = django_filters.NumberFilter(min_value=1, max_value=MAX_ID)
    target = django_filters.NumberFilter(min_value=1, max_value=MAX_ID)
    probe = django_filters.CharFilter(max_length=80)
    state = django_filters.ChoiceFilter(choices=RunState.choices)
    status = django_filters.ChoiceFilter(choices=ProbeStatus.choices)

    class Meta:
        model = ProbeRun
        fields = ["incident", "diagnosis", "target", "probe", "state", "status"]


class ProbeRunViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ProbeRunSerializer
    filterset_class = ProbeRunFilter
    permission_map = {"list": READ, "retrieve": READ, "create": START, "rerun": RERUN}

    def get_queryset(self):
        return ProbeRun.objects.select_related("diagnosis").order_by("-queued_at", "-id")

    @extend_schema(
        request=ProbeRunStartSerializer,
        responses={
            201: ProbeRunSerializer,
            400: OpenApiResponse(description="Unknown probe, wrong target kind or bad params."),
        },
    )
    def create(self, request, *args, **kwargs):
        data = ProbeRunStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            diagnosis = services.probe_start(
                probe=values["probe"],
                target=values["target"],
                params=values["params"],
                by=request.user,
                incident=values.get("incident"),
            )
        except services.DiagnosticsError as exc:
            raise_api_error(exc)
        run = self.get_queryset().get(diagnosis=diagnosis)
        return Response(ProbeRunSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={201: ProbeRunSerializer})
    @action(detail=True, methods=["post"])
    def rerun(self, request, pk=None):
        run = self.get_object()
        try:
            diagnosis = services.run_again(run=run, by=request.user)
        except services.DiagnosticsError as exc:
            raise_api_error(exc)
        new_run = self.get_queryset().get(diagnosis=diagnosis)
        return Response(ProbeRunSerializer(new_run).data, status=status.HTTP_201_CREATED)


class RunbookRunSerializer(serializers.Serializer):
    incident = bounded_pk(Incident.objects.all())


class RunbookViewSet(viewsets.ModelViewSet):
    serializer_class = RunbookSerializer
    filterset_fields = ["symptom", "enabled"]
    permission_map = {
        "list": READ,
        "retrieve": READ,
        "create": MANAGE,
        "update": MANAGE,
        "partial_update": MANAGE,
        "destroy": MANAGE,
        "run": START,
    }

    def get_queryset(self):
        return Runbook.objects.prefetch_related("steps").order_by("name")

    @extend_schema(request=RunbookRunSerializer, responses={201: DiagnosisSerializer})
    @action(detail=True, methods=["post"])
    def run(self, request, pk=None):
        runbook = self.get_object()
        data = RunbookRunSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            diagnosis = services.runbook_start(
                runbook=runbook,
                incident=data.validated_data["incident"],
                by=request.user,
                trigger=f"started by {request.user.get_username()}",
            )
        except services.DiagnosticsError as exc:
            raise_api_error(exc)
        return Response(DiagnosisSerializer(_diagnosis(diagnosis.pk)).data, status=201)


# --- Verified resolution ----------------------------------------------------------------------


class VerificationSerializer(serializers.ModelSerializer):
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Verification
        fields = [
            "id",
            "incident",
            "runbook",
            "state",
            "requested_by",
            "note",
            "diagnosis",
            "watch_minutes",
            "watch_until",
            "next_check_at",
            "checks_passed",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class VerificationStartSerializer(serializers.Serializer):
    incident = bounded_pk(Incident.objects.all())
    runbook = bounded_pk(
        Runbook.objects.filter(enabled=True),
        required=False,
        allow_null=True,
        help_text="Empty: the affected services' health probes.",
    )
    watch_minutes = serializers.IntegerField(
        min_value=0, max_value=24 * 60, required=False, help_text="Default 30; 0 = no watch."
    )
    note = serializers.CharField(max_length=5000, required=False, default="", allow_blank=True)


class VerificationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = VerificationSerializer
    filterset_fields = ["incident", "state"]
    permission_map = {"list": READ, "retrieve": READ, "create": COMMAND, "cancel": COMMAND}

    def get_queryset(self):
        return Verification.objects.select_related("requested_by").order_by("-created_at", "-id")

    @extend_schema(
        request=VerificationStartSerializer,
        responses={
            201: VerificationSerializer,
            409: OpenApiResponse(
                description="The incident cannot be resolved, or is already being verified."
            ),
        },
    )
    def create(self, request, *args, **kwargs):
        data = VerificationStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            created = verification.verification_request(
                incident=values["incident"],
                by=request.user,
                runbook=values.get("runbook"),
                note=values["note"],
                watch_minutes=values.get("watch_minutes"),
            )
        except services.DiagnosticsError as exc:
            raise_api_error(exc)
        return Response(
            VerificationSerializer(self.get_queryset().get(pk=created.pk)).data, status=201
        )

    @extend_schema(request=None, responses={200: VerificationSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        found = self.get_object()
        verification.verification_cancel(verification=found, by=request.user)
        return Response(VerificationSerializer(self.get_queryset().get(pk=found.pk)).data)
