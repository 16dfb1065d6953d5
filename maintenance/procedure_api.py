"""REST API of checklist templates and recovery procedures under /api/v1/:

- `checklist-templates/` — maintenance checklists and recovery procedures with their items
  (read: MAINTENANCE_READ; write: MAINTENANCE_MANAGE). Writing `items` replaces them all.
- `incident-procedures/` — recovery procedures attached to incidents, with their tasks and
  progress (read: INCIDENTS_READ, `?incident=<id>`; attach: INCIDENTS_COMMAND).

Refusals answer like the windows API, `{"type": code, "detail": message, "extra": {...}}`: 409
for conflicts with what is stored (`already_attached`, `incident_closed`, `default_required`,
`in_use`), 400 for the rest (`not_a_procedure`, `inactive`).
"""

from __future__ import annotations

from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.response import Response

from accounts.permissions import Perm
from incidents.models import Incident
from incidents.serializers import TaskSerializer

from . import checklists, procedures
from .api import call
from .models import AttachedProcedure, ChecklistKind, ChecklistTemplate
from .template_schema import ChecklistTemplateSerializer

READ, MANAGE = [Perm.MAINTENANCE_READ], [Perm.MAINTENANCE_MANAGE]
INCIDENT_READ, COMMAND = [Perm.INCIDENTS_READ], [Perm.INCIDENTS_COMMAND]
MAX_ID = 2**63 - 1

ERROR_RESPONSES = {
    400: OpenApiResponse(description="Invalid input, or `not_a_procedure` / `inactive`."),
    409: OpenApiResponse(
        description='`{"type": code, "detail": ...}` with code `already_attached`, '
        "`incident_closed`, `default_required` or `in_use`."
    ),
}


def _bool_param(request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    if raw.lower() in {"true", "1", "yes"}:
        return True
    if raw.lower() in {"false", "0", "no"}:
        return False
    raise exceptions.ValidationError({name: ["Use true or false."]})


# --- Checklist templates ----------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("kind", str, enum=ChecklistKind.values),
            OpenApiParameter("active", bool),
        ]
    ),
    create=extend_schema(
        responses={201: ChecklistTemplateSerializer, **ERROR_RESPONSES},
        examples=[
            OpenApiExample(
                "A recovery procedure",
                value={
                    "name": "Cache failure",
                    "kind": "recovery",
                    "items": [
                        {"title": "Confirm the cache is down", "incident_step": "assess"},
                        {
                            "title": "Bypass the cache",
                            "incident_step": "mitigate",
                            "due_minutes": 20,
                        },
                    ],
                },
                request_only=True,
            )
        ],
    ),
    update=extend_schema(responses={200: ChecklistTemplateSerializer, **ERROR_RESPONSES}),
    partial_update=extend_schema(responses={200: ChecklistTemplateSerializer, **ERROR_RESPONSES}),
    destroy=extend_schema(responses={204: None, **ERROR_RESPONSES}),
)
class ChecklistTemplateViewSet(viewsets.ModelViewSet):
    """Maintenance checklists and recovery procedures.

    Making a template the default (`is_default`) clears the previous default; the default
    itself cannot be unset, deactivated or deleted.
    """

    serializer_class = ChecklistTemplateSerializer
    permission_map = {
        "list": READ,
        "retrieve": READ,
        "create": MANAGE,
        "update": MANAGE,
        "partial_update": MANAGE,
        "destroy": MANAGE,
    }
    ordering_fields = ["name", "kind", "updated_at"]
    ordering = ["kind", "name"]

    def get_queryset(self):
        queryset = ChecklistTemplate.objects.prefetch_related("items")
        kind = self.request.query_params.get("kind")
        if kind:
            if kind not in ChecklistKind.values:
                raise exceptions.ValidationError({"kind": [f"One of {ChecklistKind.values}."]})
            queryset = queryset.filter(kind=kind)
        active = _bool_param(self.request, "active")
        if active is not None:
            queryset = queryset.filter(active=active)
        return queryset

    def perform_create(self, serializer):
        call(serializer.save)
        # Re-read so the response shows the items as stored (ids, positions).
        serializer.instance = self.get_queryset().get(pk=serializer.instance.pk)

    def perform_update(self, serializer):
        self.perform_create(serializer)

    def destroy(self, request, *args, **kwargs):
        call(checklists.template_delete, template=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Procedures attached to incidents ---------------------------------------------------------


class ProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField()
    skipped = serializers.IntegerField()
    total = serializers.IntegerField()


class AttachedProcedureSerializer(serializers.ModelSerializer):
    template = serializers.PrimaryKeyRelatedField(read_only=True)
    name = serializers.CharField(source="template.name", read_only=True)
    slug = serializers.CharField(source="template.slug", read_only=True)
    attached_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    tasks = TaskSerializer(many=True, read_only=True)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = AttachedProcedure
        fields = [
            "id",
            "incident",
            "template",
            "name",
            "slug",
            "attached_by",
            "attached_at",
            "progress",
            "tasks",
        ]
        read_only_fields = fields

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, procedure):
        progress = procedures.progress_of(procedure)
        return {"done": progress.done, "skipped": progress.skipped, "total": progress.total}


@extend_schema_field(
    {"oneOf": [{"type": "integer"}, {"type": "string"}], "example": "database-failure"}
)
class ProcedureRefField(serializers.Field):
    """A recovery procedure given by id or slug (input only)."""

    default_error_messages = {"does_not_exist": "No recovery procedure with id or slug {value!r}."}

    def to_internal_value(self, data):
        value = str(data).strip()
        if not value or len(value) > 120:
            self.fail("does_not_exist", value=value[:120])
        match = Q(slug=value) | (Q(pk=int(value)) if value.isdigit() and len(value) < 18 else Q())
        template = ChecklistTemplate.objects.filter(match).first()
        if template is None:
            self.fail("does_not_exist", value=value)
        return template

    def to_representation(self, value):
        return value.slug


class AttachSerializer(serializers.Serializer):
    incident = serializers.PrimaryKeyRelatedField(
        queryset=Incident.objects.all(),
        pk_field=serializers.IntegerField(min_value=1, max_value=MAX_ID),
    )
    template = ProcedureRefField(help_text="The recovery procedure's id or slug.")


@extend_schema_view(
    list=extend_schema(
        parameters=[OpenApiParameter("incident", OpenApiTypes.INT, description="Incident id.")]
    ),
    create=extend_schema(
        request=AttachSerializer,
        responses={201: AttachedProcedureSerializer, **ERROR_RESPONSES},
        description="Attach a recovery procedure to an incident: each item becomes an incident "
        "task in its playbook step, due `due_minutes` from now, and the attach is recorded on "
        "the incident's timeline. Complete the tasks with `/api/v1/tasks/{id}/complete/`.",
        examples=[
            OpenApiExample(
                "Database failure",
                value={"incident": 42, "template": "database-failure"},
                request_only=True,
            )
        ],
    ),
)
class IncidentProcedureViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Recovery procedures attached to incidents, with their tasks and progress."""

    serializer_class = AttachedProcedureSerializer
    permission_map = {"list": INCIDENT_READ, "retrieve": INCIDENT_READ, "create": COMMAND}
    ordering_fields = ["attached_at"]
    ordering = ["attached_at"]

    def get_queryset(self):
        queryset = procedures.incident_procedures()
        incident = self.request.query_params.get("incident")
        if incident:
            if not incident.isdigit() or len(incident) > 18:
                raise exceptions.ValidationError({"incident": ["An incident id is required."]})
            queryset = queryset.filter(incident_id=int(incident))
        return queryset

    def create(self, request, *args, **kwargs):
        data = AttachSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        attached = call(
            procedures.procedure_attach,
            incident=data.validated_data["incident"],
            template=data.validated_data["template"],
            by=request.user,
        )
        attached = procedures.incident_procedures().get(pk=attached.pk)
        return Response(AttachedProcedureSerializer(attached).data, status=status.HTTP_201_CREATED)
