"""REST API: /api/v1/incidents/ (transition, notes, updates, timeline, tasks), /api/v1/tasks/."""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.permissions import Perm, user_has_perm

from . import services
from .filters import IncidentFilter
from .gates import EvidenceRequired
from .models import Incident, IncidentTask, Status
from .playbook import transition_perm
from .selectors import timeline_after
from .serializers import (
    IncidentCreateSerializer,
    IncidentSerializer,
    IncidentUpdateSerializer,
    NoteSerializer,
    PublicUpdateSerializer,
    TaskAssignSerializer,
    TaskSerializer,
    TaskSkipSerializer,
    TimelineEventSerializer,
    TimelinePageSerializer,
    TransitionSerializer,
)

READ, RESPOND, COMMAND = [Perm.INCIDENTS_READ], [Perm.INCIDENTS_RESPOND], [Perm.INCIDENTS_COMMAND]
TIMELINE_PAGE = 200


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"

    def __init__(
        self,
        detail: str,
        *,
        code: str = "conflict",
        allowed: list[str] | None = None,
        extra: dict | None = None,
    ):
        super().__init__(detail, code)
        if allowed is not None:
            self.allowed = allowed
        if extra is not None:
            self.extra = extra


DECLARE_EXAMPLE = OpenApiExample(
    "Declare a P1",
    value={
        "title": "Checkout returns 503",
        "severity": "P1",
        "services": ["checkout"],
        "symptom": "service_unavailable",
    },
    request_only=True,
)


@extend_schema_view(
    create=extend_schema(
        request=IncidentCreateSerializer,
        responses={201: IncidentSerializer},
        examples=[DECLARE_EXAMPLE],
        description=(
            "Declare an incident. Creates the acknowledge step's tasks and the first "
            "timeline event."
        ),
    ),
    partial_update=extend_schema(request=IncidentUpdateSerializer, responses=IncidentSerializer),
    update=extend_schema(request=IncidentUpdateSerializer, responses=IncidentSerializer),
)
class IncidentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = IncidentSerializer
    filterset_class = IncidentFilter
    ordering_fields = ["number", "detected_at", "severity", "status", "updated_at"]
    ordering = ["-number"]
    permission_map = {
        "list": READ,
        "retrieve": READ,
        "create": RESPOND,
        "update": COMMAND,
        "partial_update": COMMAND,
        "transition": READ,  # the target state decides; checked in the action
        "notes": RESPOND,
        "updates": COMMAND,
        "timeline": READ,
        "tasks": READ,
    }

    def get_queryset(self):
        return Incident.objects.for_listing().prefetch_related("responders")

    def create(self, request, *args, **kwargs):
        data = IncidentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        commander = values.pop("commander", request.user)
        incident = services.incident_declare(by=request.user, commander=commander, **values)
        incident = self.get_queryset().get(pk=incident.pk)
        return Response(IncidentSerializer(incident).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        incident = self.get_object()
        data = IncidentUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            services.incident_update(incident=incident, by=request.user, **data.validated_data)
        except services.IncidentClosed as exc:
            raise Conflict(str(exc), code="incident_closed") from exc
        return Response(IncidentSerializer(self.get_queryset().get(pk=incident.pk)).data)

    @extend_schema(
        request=TransitionSerializer,
        responses={
            200: IncidentSerializer,
            409: OpenApiResponse(
                description="`illegal_transition`: `allowed` lists the legal targets. "
                "`evidence_required`: an evidence gate failed (`extra.gates` says which and "
                "why); send again with a `waiver` reason to go ahead without it."
            ),
        },
        examples=[OpenApiExample("Acknowledge", value={"to": "acknowledged"}, request_only=True)],
    )
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        incident = self.get_object()
        data = TransitionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        to = data.validated_data["to"]
        if not user_has_perm(request.user, transition_perm(to)):
            raise exceptions.PermissionDenied(f"Your role cannot move incidents to {to}.")
        try:
            services.incident_transition(
                incident=incident,
                to=to,
                by=request.user,
                note=data.validated_data["note"],
                waiver=data.validated_data["waiver"],
            )
        except services.IllegalTransition as exc:
            raise Conflict(str(exc), code="illegal_transition", allowed=exc.allowed) from exc
        except EvidenceRequired as exc:
            raise Conflict(
                str(exc),
                code="evidence_required",
                extra={"gates": [outcome.as_dict() for outcome in exc.failed]},
            ) from exc
        return Response(IncidentSerializer(self.get_queryset().get(pk=incident.pk)).data)

    @extend_schema(request=NoteSerializer, responses={201: TimelineEventSerializer})
    @action(detail=True, methods=["post"])
    def notes(self, request, pk=None):
        incident = self.get_object()
        data = NoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            event = services.note_add(
                incident=incident, body=data.validated_data["body"], by=request.user
            )
        except services.IncidentClosed as exc:
            raise Conflict(str(exc), code="incident_closed") from exc
        return Response(TimelineEventSerializer(event).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=PublicUpdateSerializer,
        responses={201: TimelineEventSerializer},
        examples=[
            OpenApiExample(
                "Identified",
                value={
                    "status": "identified",
                    "body": "A bad deploy; rolling back.",
                    "component_status": "partial_outage",
                },
                request_only=True,
            )
        ],
    )
    @action(detail=True, methods=["post"])
    def updates(self, request, pk=None):
        incident = self.get_object()
        data = PublicUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            event = services.public_update_post(
                incident=incident, by=request.user, **data.validated_data
            )
        except services.IncidentClosed as exc:
            raise Conflict(str(exc), code="incident_closed") from exc
        return Response(TimelineEventSerializer(event).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[
            OpenApiParameter("after", int, description="Only events with seq greater than this."),
            OpenApiParameter("limit", int, description=f"At most this many (1–{TIMELINE_PAGE})."),
            OpenApiParameter("kind", str, many=True, description="Only these kinds."),
        ],
        responses=TimelinePageSerializer,
    )
    @action(detail=True, methods=["get"])
    def timeline(self, request, pk=None):
        incident = self.get_object()
        after = _int_param(request, "after", default=0, minimum=0)
        limit = _int_param(
            request, "limit", default=TIMELINE_PAGE, minimum=1, maximum=TIMELINE_PAGE
        )
        kinds = [kind for kind in request.query_params.getlist("kind") if kind]
        events = list(timeline_after(incident, after, kinds=kinds, limit=limit))
        next_url = None
        if len(events) == limit:
            query = request.query_params.copy()
            query["after"] = events[-1].seq
            next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        return Response(
            {
                "results": TimelineEventSerializer(events, many=True).data,
                "next": next_url,
                "last_seq": incident.last_seq,
            }
        )

    @extend_schema(responses=TaskSerializer(many=True))
    @action(detail=True, methods=["get"])
    def tasks(self, request, pk=None):
        incident = self.get_object()
        tasks = incident.tasks.select_related("assignee", "completed_by")
        return Response(TaskSerializer(tasks, many=True).data)


def _int_param(
    request, name: str, *, default: int, minimum: int, maximum: int | None = None
) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise exceptions.ValidationError({name: ["A whole number is required."]}) from exc
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise exceptions.ValidationError({name: [f"Must be {bound}."]})
    return value


class TaskViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Playbook tasks: complete, skip (with a reason), assign, reopen."""

    serializer_class = TaskSerializer
    permission_map = {
        "retrieve": READ,
        "complete": RESPOND,
        "skip": RESPOND,
        "assign": RESPOND,
        "reopen": RESPOND,
    }

    def get_queryset(self):
        return IncidentTask.objects.select_related("assignee", "completed_by", "incident")

    def _done(self, task):
        return Response(TaskSerializer(self.get_queryset().get(pk=task.pk)).data)

    def _open_task(self):
        task = self.get_object()
        if task.incident.status == Status.CLOSED:
            raise Conflict(f"{task.incident.ref} is closed", code="incident_closed")
        return task

    @extend_schema(request=None, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        return self._done(services.task_complete(task=self._open_task(), by=request.user))

    @extend_schema(request=TaskSkipSerializer, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def skip(self, request, pk=None):
        data = TaskSkipSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task = services.task_skip(
            task=self._open_task(), by=request.user, reason=data.validated_data["reason"]
        )
        return self._done(task)

    @extend_schema(request=TaskAssignSerializer, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        data = TaskAssignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task = services.task_assign(
            task=self._open_task(), assignee=data.validated_data["assignee"], by=request.user
        )
        return self._done(task)

    @extend_schema(request=None, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        return self._done(services.task_reopen(task=self._open_task(), by=request.user))
