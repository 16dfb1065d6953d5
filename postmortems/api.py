"""REST API of postmortems under /api/v1/:

- `postmortems/` — list (filters `state`, `owner`, `incident`, `overdue`), retrieve (sections,
  key metrics, the curated timeline), create `{incident}` for a severity that does not require one,
  partial update of sections and details; `{id}/submit/`, `{id}/return/`, `{id}/review/`,
  `{id}/publish/`; `{id}/timeline/` (GET) and `{id}/curation/` (POST); `{id}/revisions/` and
  `{id}/revisions/{number}/` — the frozen publications.
- `action-items/` — list (filters `postmortem`, `status`, `owner`, `service`, `overdue`),
  create, partial update, `{id}/status/` `{status, reason}`.

Refusals answer 409 (state) or 400 (input) as `{"type": code, "detail", "extra"}`.
"""

from __future__ import annotations

import django_filters
from django.contrib.auth import get_user_model
from django.utils import timezone
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
from incidents.models import Incident, TimelineEvent
from ops_portal.api_errors import ServiceRefused
from ops_portal.api_errors import call_service as call

from . import services, timeline
from .errors import PostmortemError
from .metrics import key_metrics
from .models import (
    SECTION_FIELDS,
    ActionItem,
    ActionPriority,
    ActionStatus,
    Postmortem,
    PostmortemRevision,
    PostmortemState,
)

READ = [Perm.POSTMORTEMS_READ]
WRITE = [Perm.POSTMORTEMS_WRITE]
PUBLISH = [Perm.POSTMORTEMS_PUBLISH]
MAX_ID = 2**63 - 1
User = get_user_model()


ERRORS = {
    400: OpenApiResponse(description="Invalid input"),
    409: OpenApiResponse(description="Refused by the postmortem's state"),
}


# --- Serializers ------------------------------------------------------------------------------


class KeyMetricsSerializer(serializers.Serializer):
    time_to_detect = serializers.FloatField(allow_null=True)
    time_to_acknowledge = serializers.FloatField(allow_null=True)
    time_to_mitigate = serializers.FloatField(allow_null=True)
    time_to_resolve = serializers.FloatField(allow_null=True)
    impact_duration = serializers.FloatField(allow_null=True)


class TimelineEntrySerializer(serializers.Serializer):
    event_id = serializers.IntegerField()
    seq = serializers.IntegerField()
    at = serializers.DateTimeField()
    kind = serializers.CharField()
    label = serializers.CharField()
    body = serializers.CharField()
    author = serializers.CharField()
    key = serializers.BooleanField(help_text="Chosen by the generator (false: pulled in).")
    hidden = serializers.BooleanField()
    annotation = serializers.CharField()


class PostmortemSerializer(serializers.ModelSerializer):
    incident_ref = serializers.CharField(source="incident.ref", read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    reviewed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = Postmortem
        fields = [
            "id",
            "incident",
            "incident_ref",
            "owner",
            "state",
            "required",
            "due_at",
            "overdue",
            "revision",
            "submitted_at",
            "reviewed_by",
            "reviewed_at",
            "published_at",
            "first_published_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_overdue(self, postmortem) -> bool:
        return postmortem.required and postmortem.is_overdue()


class PostmortemDetailSerializer(PostmortemSerializer):
    metrics = serializers.SerializerMethodField()

    class Meta(PostmortemSerializer.Meta):
        fields = [
            *PostmortemSerializer.Meta.fields,
            "impact_started_at",
            "affected_users",
            *SECTION_FIELDS,
            "customer_summary",
            "metrics",
        ]
        read_only_fields = fields

    @extend_schema_field(KeyMetricsSerializer)
    def get_metrics(self, postmortem) -> dict:
        return key_metrics(postmortem).as_dict()


class PostmortemCreateSerializer(serializers.Serializer):
    incident = serializers.PrimaryKeyRelatedField(
        queryset=Incident.objects.all(),
        pk_field=serializers.IntegerField(min_value=1, max_value=MAX_ID),
    )


class PostmortemUpdateSerializer(serializers.Serializer):
    owner = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.filter(is_active=True), allow_null=True
    )
    impact_started_at = serializers.DateTimeField(allow_null=True)
    affected_users = serializers.CharField(allow_blank=True, max_length=200)
    customer_summary = serializers.CharField(allow_blank=True, max_length=20000)
    due_at = serializers.DateTimeField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in SECTION_FIELDS:
            self.fields[field] = serializers.CharField(allow_blank=True, max_length=50000)
        for field in self.fields.values():
            field.required = False


class SendBackSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class CurationSerializer(serializers.Serializer):
    seq = serializers.IntegerField(min_value=1, max_value=2**31 - 1, help_text="Event seq.")
    hidden = serializers.BooleanField(required=False)
    included = serializers.BooleanField(required=False)
    annotation = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class RevisionSerializer(serializers.ModelSerializer):
    published_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = PostmortemRevision
        fields = ["number", "published_at", "published_by", "content"]
        read_only_fields = fields


# --- Postmortems ------------------------------------------------------------------------------


class PostmortemFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=PostmortemState.choices)
    owner = django_filters.CharFilter(field_name="owner__username")
    incident = django_filters.NumberFilter(field_name="incident_id")
    overdue = django_filters.BooleanFilter(method="filter_overdue")

    class Meta:
        model = Postmortem
        fields = ["state", "owner", "incident", "overdue"]

    def filter_overdue(self, queryset, name, value):
        late = {"required": True, "first_published_at__isnull": True, "due_at__lt": timezone.now()}
        return queryset.filter(**late) if value else queryset.exclude(**late)


class PostmortemViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    filterset_class = PostmortemFilter
    http_method_names = ["get", "post", "patch", "head", "options"]
    permission_map = {
        "list": READ,
        "retrieve": READ,
        "timeline": READ,
        "revisions": READ,
        "revision": READ,
        "create": WRITE,
        "partial_update": WRITE,
        "curation": WRITE,
        "submit": WRITE,
        "send_back": PUBLISH,
        "review": PUBLISH,
        "publish": PUBLISH,
    }

    def get_queryset(self):
        return Postmortem.objects.select_related("incident", "owner", "reviewed_by").order_by(
            "-created_at", "-id"
        )

    def get_serializer_class(self):
        return PostmortemDetailSerializer if self.action == "retrieve" else PostmortemSerializer

    def _detail(self, postmortem, code=status.HTTP_200_OK):
        fresh = self.get_queryset().get(pk=postmortem.pk)
        return Response(PostmortemDetailSerializer(fresh).data, status=code)

    @extend_schema(
        request=PostmortemCreateSerializer, responses={201: PostmortemDetailSerializer, **ERRORS}
    )
    def create(self, request, *args, **kwargs):
        data = PostmortemCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        incident = data.validated_data["incident"]
        if Postmortem.objects.filter(incident=incident).exists():
            raise ServiceRefused(
                PostmortemError(f"{incident.ref} already has a postmortem.", code="already_exists")
            )
        postmortem = call(
            services.postmortem_create, incident=incident, by=request.user, required=False
        )
        return self._detail(postmortem, status.HTTP_201_CREATED)

    @extend_schema(
        request=PostmortemUpdateSerializer, responses={200: PostmortemDetailSerializer, **ERRORS}
    )
    def partial_update(self, request, *args, **kwargs):
        postmortem = self.get_object()
        data = PostmortemUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        postmortem = call(
            services.postmortem_update,
            postmortem=postmortem,
            by=request.user,
            **data.validated_data,
        )
        return self._detail(postmortem)

    def _move(self, fn, request, **kwargs):
        return self._detail(call(fn, postmortem=self.get_object(), by=request.user, **kwargs))

    @extend_schema(request=None, responses={200: PostmortemDetailSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._move(services.postmortem_submit, request)

    @extend_schema(
        request=SendBackSerializer, responses={200: PostmortemDetailSerializer, **ERRORS}
    )
    @action(detail=True, methods=["post"], url_path="return")
    def send_back(self, request, pk=None):
        data = SendBackSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reason = data.validated_data.get("reason", "")
        return self._move(services.postmortem_return, request, reason=reason)

    @extend_schema(request=None, responses={200: PostmortemDetailSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        return self._move(services.postmortem_review, request)

    @extend_schema(request=None, responses={200: PostmortemDetailSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        return self._move(services.postmortem_publish, request)

    @extend_schema(responses=TimelineEntrySerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def timeline(self, request, pk=None):
        entries = timeline.entries(self.get_object())
        return Response([entry.as_dict() for entry in entries])

    @extend_schema(request=CurationSerializer, responses={200: TimelineEntrySerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def curation(self, request, pk=None):
        postmortem = self.get_object()
        data = CurationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        event = TimelineEvent.objects.filter(
            incident_id=postmortem.incident_id, seq=values.pop("seq")
        ).first()
        if event is None:
            raise exceptions.NotFound("The incident has no event with that seq.")
        call(services.curation_set, postmortem=postmortem, event=event, by=request.user, **values)
        postmortem.refresh_from_db()
        entry = next((e for e in timeline.entries(postmortem) if e.event_id == event.pk), None)
        if entry is None:  # an un-included chatter event: nothing shows for it
            return Response({"event_id": event.pk, "seq": event.seq, "shown": False})
        return Response(entry.as_dict())

    @extend_schema(responses=RevisionSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def revisions(self, request, pk=None):
        rows = self.get_object().revisions.select_related("published_by").order_by("-number")
        return Response(RevisionSerializer(rows, many=True).data)

    @extend_schema(
        responses=RevisionSerializer,
        parameters=[OpenApiParameter("number", int, OpenApiParameter.PATH)],
    )
    @action(detail=True, methods=["get"], url_path=r"revisions/(?P<number>[0-9]{1,9})")
    def revision(self, request, pk=None, number=None):
        row = self.get_object().revisions.filter(number=int(number)).first()
        if row is None:
            raise exceptions.NotFound("No such revision.")
        return Response(RevisionSerializer(row).data)


# --- Action items -----------------------------------------------------------------------------


class ActionItemSerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
    )
    service = serializers.SlugRelatedField(
        slug_field="slug", queryset=Service.objects.all(), required=False, allow_null=True
    )
    postmortem = serializers.PrimaryKeyRelatedField(
        queryset=Postmortem.objects.all(),
        pk_field=serializers.IntegerField(min_value=1, max_value=MAX_ID),
    )
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = ActionItem
        fields = [
            "id",
            "postmortem",
            "title",
            "owner",
            "due_date",
            "priority",
            "status",
            "wont_do_reason",
            "external_url",
            "service",
            "overdue",
            "completed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["status", "wont_do_reason", "completed_at", "created_at", "updated_at"]

    def get_overdue(self, item) -> bool:
        return item.is_overdue()


class ActionItemUpdateSerializer(ActionItemSerializer):
    class Meta(ActionItemSerializer.Meta):
        read_only_fields = [*ActionItemSerializer.Meta.read_only_fields, "postmortem"]


class ActionStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ActionStatus.choices)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class ActionItemFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=ActionStatus.choices)
    priority = django_filters.MultipleChoiceFilter(choices=ActionPriority.choices)
    owner = django_filters.CharFilter(field_name="owner__username")
    service = django_filters.CharFilter(field_name="service__slug")
    postmortem = django_filters.NumberFilter(field_name="postmortem_id")
    overdue = django_filters.BooleanFilter(method="filter_overdue")

    class Meta:
        model = ActionItem
        fields = ["status", "priority", "owner", "service", "postmortem", "overdue"]

    def filter_overdue(self, queryset, name, value):
        late = ActionItem.objects.overdue(timezone.localdate()).values("pk")
        return queryset.filter(pk__in=late) if value else queryset.exclude(pk__in=late)


class ActionItemViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    filterset_class = ActionItemFilter
    http_method_names = ["get", "post", "patch", "head", "options"]
    permission_map = {
        "list": READ,
        "retrieve": READ,
        "create": WRITE,
        "partial_update": WRITE,
        "set_status": WRITE,
    }
    serializer_class = ActionItemSerializer

    def get_queryset(self):
        return ActionItem.objects.select_related("owner", "service").order_by("due_date", "id")

    @extend_schema(request=ActionItemSerializer, responses={201: ActionItemSerializer, **ERRORS})
    def create(self, request, *args, **kwargs):
        data = ActionItemSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        item = call(
            services.action_item_create,
            postmortem=values.pop("postmortem"),
            title=values.pop("title"),
            by=request.user,
            **values,
        )
        return Response(ActionItemSerializer(item).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=ActionItemUpdateSerializer, responses={200: ActionItemSerializer, **ERRORS}
    )
    def partial_update(self, request, *args, **kwargs):
        item = self.get_object()
        data = ActionItemUpdateSerializer(item, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        item = call(services.action_item_update, item=item, by=request.user, **data.validated_data)
        return Response(ActionItemSerializer(item).data)

    @extend_schema(request=ActionStatusSerializer, responses={200: ActionItemSerializer, **ERRORS})
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request, pk=None):
        data = ActionStatusSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = call(
            services.action_item_set_status,
            item=self.get_object(),
            by=request.user,
            status=data.validated_data["status"],
            reason=data.validated_data.get("reason", ""),
        )
        return Response(ActionItemSerializer(item).data)
