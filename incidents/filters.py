"""Incident filters shared by the list page and the API."""

from __future__ import annotations

from datetime import UTC

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField

from .models import Incident, Severity, Status


class UtcIsoDateTimeField(IsoDateTimeField):
    """ISO 8601 datetimes normalised to UTC before they reach SQL: PostgreSQL rejects offsets
    beyond ±15:59 that Python accepts (found by schemathesis)."""

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except (OverflowError, ValueError) as exc:
            raise forms.ValidationError("Date out of range.", code="invalid") from exc


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class IncidentFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Status.choices)
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices)
    service = django_filters.CharFilter(field_name="services__slug", distinct=True)
    commander = django_filters.CharFilter(field_name="commander__username")
    detected_after = UtcIsoDateTimeFilter(field_name="detected_at", lookup_expr="gte")
    detected_before = UtcIsoDateTimeFilter(field_name="detected_at", lookup_expr="lt")
    open = django_filters.BooleanFilter(method="filter_open")

    class Meta:
        model = Incident
        fields = ["status", "severity", "service", "commander", "customer_facing"]

    def filter_open(self, queryset, name, value):
        return queryset.open() if value else queryset.exclude(pk__in=queryset.open())
