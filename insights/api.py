"""GET /api/v1/insights/: the dashboard's figures as JSON, with the page's filters."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import Perm
from incidents.models import Severity

from .figures import insights_for
from .forms import CUSTOM, InsightsFilterForm
from .period import DEFAULT_PRESET, MAX_DAYS, PRESETS, local_date
from .serializers import InsightsSerializer


def form_errors(form) -> dict[str, list[str]]:
    """A bound form's errors in the API's shape (`non_field_errors` for the form-wide ones)."""
    return {
        ("non_field_errors" if field == "__all__" else field): [str(message) for message in errors]
        for field, errors in form.errors.items()
    }


class InsightsView(APIView):
    """The insights figures for a period and filters (same definitions as the dashboard)."""

    permission_map = {"get": [Perm.INSIGHTS_READ]}

    @extend_schema(
        operation_id="insights_retrieve",
        parameters=[
            OpenApiParameter(
                "period",
                str,
                enum=[*PRESETS, CUSTOM],
                description=f"A preset (default `{DEFAULT_PRESET}`), or `custom` with from/to.",
            ),
            OpenApiParameter("from", OpenApiTypes.DATE, description="First day (custom period)."),
            OpenApiParameter(
                "to",
                OpenApiTypes.DATE,
                description=f"Last day, included (custom period, at most {MAX_DAYS} days).",
            ),
            OpenApiParameter(
                "severity", str, many=True, enum=Severity.values, description="Repeatable."
            ),
            OpenApiParameter("service", str, description="A service slug."),
        ],
        responses={
            200: InsightsSerializer,
            400: OpenApiResponse(description="Invalid filters (`validation_error`)."),
        },
    )
    def get(self, request):
        now = timezone.now()
        form = InsightsFilterForm(request.query_params, today=local_date(now))
        if not form.is_valid():
            raise ValidationError(form_errors(form))
        period, filters = form.period_and_filters()
        return Response(InsightsSerializer(insights_for(period, filters, now=now)).data)
