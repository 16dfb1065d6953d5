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

from . import remediation, services, verification
from .actions import registry as action_registry
from .models import (
    ActionPolicy,
    ActionRequest,
    ActionState,
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


class SuggestionSerializer(serializers.Serializer):
    action = serializers.CharField()
    title = serializers.CharField()
    label = serializers.CharField()
    params = serializers.JSONField()
    target = serializers.IntegerField()
    run = serializers.IntegerField()


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
    permission_map = {
        "list": READ,
        "retrieve": READ,
        "create": START,
        "rerun": RERUN,
        "suggestions": READ,
    }

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

    @extend_schema(request=None, responses={200: SuggestionSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def suggestions(self, request, pk=None):
        """Remediation actions with params filled from this run's findings (preview them)."""
        return Response(remediation.suggested_actions(self.get_object()))


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


# --- Remediation actions ----------------------------------------------------------------------


class ActionCatalogueSerializer(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    approval_on_high_severity = serializers.BooleanField()
    params = ProbeParamSerializer(many=True)


class ActionRequestSerializer(serializers.ModelSerializer):
    previewed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    approved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    target = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = ActionRequest
        fields = [
            "id",
            "key",
            "incident",
            "action",
            "target",
            "target_label",
            "params",
            "preview",
            "preview_expires_at",
            "from_run",
            "state",
            "needs_approval",
            "previewed_by",
            "requested_by",
            "approved_by",
            "reason",
            "result",
            "error",
            "created_at",
            "requested_at",
            "approved_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class ActionPreviewedSerializer(ActionRequestSerializer):
    preview_token = serializers.SerializerMethodField(
        help_text="Send it to execute/ before preview_expires_at. Shown once; empty if refused."
    )

    class Meta(ActionRequestSerializer.Meta):
        fields = [*ActionRequestSerializer.Meta.fields, "preview_token"]
        read_only_fields = fields

    def get_preview_token(self, request) -> str:
        return self.context.get("token", "")


class ActionPreviewSerializer(serializers.Serializer):
    incident = bounded_pk(Incident.objects.all())
    action = serializers.ChoiceField(choices=())
    target = bounded_pk(Target.objects.select_related("service"))
    params = serializers.JSONField(required=False, default=dict)
    from_run = bounded_pk(ProbeRun.objects.all(), required=False, allow_null=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = sorted(action.name for action in action_registry.all())

    def validate_params(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return value


class ActionExecuteSerializer(serializers.Serializer):
    preview_token = serializers.CharField(max_length=200)
    reason = serializers.CharField(max_length=5000, required=False, default="", allow_blank=True)


class ActionRejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=5000, required=False, default="", allow_blank=True)


class ActionFilter(django_filters.FilterSet):
    incident = django_filters.NumberFilter(min_value=1, max_value=MAX_ID)
    state = django_filters.ChoiceFilter(choices=ActionState.choices)
    action = django_filters.CharFilter(max_length=80)

    class Meta:
        model = ActionRequest
        fields = ["incident", "state", "action"]


ACTION_CONFLICTS = {
    "not_previewed",
    "preview_expired",
    "not_awaiting_approval",
    "approver_is_requester",
    "not_pending",
    "incident_closed",
}


def raise_action_error(exc: remediation.ActionError):
    if exc.code in ACTION_CONFLICTS:
        raise Conflict(str(exc), code=exc.code) from exc
    if exc.code == "invalid_preview_token":
        raise exceptions.PermissionDenied(str(exc), code=exc.code) from exc
    raise exceptions.ValidationError(exc.errors or {"non_field_errors": [str(exc)]}) from exc


class ActionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Remediation requests: preview (responder+), execute and approve (commanders)."""

    serializer_class = ActionRequestSerializer
    filterset_class = ActionFilter
    permission_map = {
        "list": READ,
        "retrieve": READ,
        "catalogue": READ,
        "preview": [Perm.REMEDIATION_REQUEST],
        "execute": [Perm.REMEDIATION_APPROVE],
        "approve": [Perm.REMEDIATION_APPROVE],
        "reject": [Perm.REMEDIATION_APPROVE],
    }

    def get_queryset(self):
        return ActionRequest.objects.select_related(
            "previewed_by", "requested_by", "approved_by"
        ).order_by("-created_at", "-id")

    @extend_schema(responses=ActionCatalogueSerializer(many=True))
    @action(detail=False, methods=["get"])
    def catalogue(self, request):
        data = [
            {
                "name": item.name,
                "kind": item.kind,
                "title": item.title,
                "description": item.description,
                "approval_on_high_severity": item.approval_on_high_severity,
                "params": item.describe_params(),
            }
            for item in action_registry.all()
        ]
        return Response({"count": len(data), "next": None, "previous": None, "results": data})

    @extend_schema(
        request=ActionPreviewSerializer,
        responses={
            201: ActionPreviewedSerializer,
            400: OpenApiResponse(description="Unknown action, wrong target, bad params."),
        },
    )
    @action(detail=False, methods=["post"])
    def preview(self, request):
        data = ActionPreviewSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            issued = remediation.action_preview(
                incident=values["incident"],
                action=values["action"],
                target=values["target"],
                params=values["params"],
                by=request.user,
                from_run=values.get("from_run"),
            )
        except remediation.ActionError as exc:
            raise_action_error(exc)
        found = self.get_queryset().get(pk=issued.request.pk)
        body = ActionPreviewedSerializer(found, context={"token": issued.token}).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})

    @extend_schema(request=ActionExecuteSerializer, responses={200: ActionRequestSerializer})
    @action(detail=True, methods=["post"])
    def execute(self, request, pk=None):
        found = self.get_object()
        data = ActionExecuteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            remediation.action_confirm(
                request=found,
                token=data.validated_data["preview_token"],
                by=request.user,
                reason=data.validated_data["reason"],
            )
        except remediation.ActionError as exc:
            raise_action_error(exc)
        return Response(ActionRequestSerializer(self.get_queryset().get(pk=found.pk)).data)

    @extend_schema(request=None, responses={200: ActionRequestSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        found = self.get_object()
        try:
            remediation.action_approve(request=found, by=request.user)
        except remediation.ActionError as exc:
            raise_action_error(exc)
        return Response(ActionRequestSerializer(self.get_queryset().get(pk=found.pk)).data)

    @extend_schema(request=ActionRejectSerializer, responses={200: ActionRequestSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        found = self.get_object()
        data = ActionRejectSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            remediation.action_reject(
                request=found, by=request.user, reason=data.validated_data["reason"]
            )
        except remediation.ActionError as exc:
            raise_action_error(exc)
        return Response(ActionRequestSerializer(self.get_queryset().get(pk=found.pk)).data)


class ActionPolicySerializer(serializers.ModelSerializer):
    target = bounded_pk(Target.objects.all(), required=False, allow_null=True)
    action = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")

    class Meta:
        model = ActionPolicy
        fields = ["id", "target", "action", "allowed", "approval", "note"]
        validators = []  # the (target, action) uniqueness is checked below with a clear message

    def validate_action(self, value):
        if value and value not in action_registry:
            raise serializers.ValidationError(f"Unknown action {value!r}.")
        return value

    def validate(self, attrs):
        target = attrs.get("target", getattr(self.instance, "target", None))
        name = attrs.get("action", getattr(self.instance, "action", ""))
        clash = ActionPolicy.objects.filter(target=target, action=name)
        if self.instance:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError(
                {"action": ["A policy for this target and action exists already."]}
            )
        return attrs


class ActionPolicyViewSet(viewsets.ModelViewSet):
    """Which actions are allowed on which targets, and which need a second commander."""

    serializer_class = ActionPolicySerializer
    permission_map = {
        "list": READ,
        "retrieve": READ,
        "create": [Perm.CATALOG_MANAGE],
        "update": [Perm.CATALOG_MANAGE],
        "partial_update": [Perm.CATALOG_MANAGE],
        "destroy": [Perm.CATALOG_MANAGE],
    }

    def get_queryset(self):
        return ActionPolicy.objects.order_by("target_id", "action", "id")
