"""REST API of proposed component statuses: `/api/v1/status-proposals/` (read: viewers;
`{id}/approve/` and `{id}/dismiss/` `{reason}`: commanders). A decided proposal answers 409."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.permissions import Perm

from .models import ProposalState, StatusProposal
from .status_proposals import ProposalError, proposal_approve, proposal_dismiss


class EvidenceSerializer(serializers.Serializer):
    run_id = serializers.IntegerField()
    probe = serializers.CharField()
    target = serializers.CharField()
    status = serializers.CharField()
    summary = serializers.CharField()


class StatusProposalSerializer(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    evidence = EvidenceSerializer(many=True, read_only=True)

    class Meta:
        model = StatusProposal
        fields = [
            "id",
            "service",
            "incident",
            "proposed_status",
            "current_status",
            "evidence",
            "state",
            "decided_by",
            "decided_at",
            "reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class DismissSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class ProposalFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=ProposalState.choices)
    service = django_filters.CharFilter(field_name="service__slug")

    class Meta:
        model = StatusProposal
        fields = ["state", "service", "incident"]


class Decided(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "decided"


class StatusProposalViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = StatusProposalSerializer
    filterset_class = ProposalFilter
    permission_map = {
        "list": [Perm.DIAGNOSTICS_READ],
        "retrieve": [Perm.DIAGNOSTICS_READ],
        "approve": [Perm.INCIDENTS_COMMAND],
        "dismiss": [Perm.INCIDENTS_COMMAND],
    }

    def get_queryset(self):
        return StatusProposal.objects.select_related("service", "decided_by").order_by(
            "-created_at", "-id"
        )

    def _decide(self, fn, **kwargs):
        try:
            proposal = fn(proposal=self.get_object(), by=self.request.user, **kwargs)
        except ProposalError as exc:
            raise Decided(str(exc), code=exc.code) from exc
        return Response(StatusProposalSerializer(self.get_queryset().get(pk=proposal.pk)).data)

    @extend_schema(
        request=None,
        responses={200: StatusProposalSerializer, 409: OpenApiResponse(description="Decided")},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(proposal_approve)

    @extend_schema(
        request=DismissSerializer,
        responses={200: StatusProposalSerializer, 409: OpenApiResponse(description="Decided")},
    )
    @action(detail=True, methods=["post"])
    def dismiss(self, request, pk=None):
        data = DismissSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._decide(proposal_dismiss, reason=data.validated_data.get("reason", ""))
