"""Incident filters shared by the list page and the API."""

from __future__ import annotations

import django_filters

from .models import Incident, Severity, Status


class IncidentFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Status.choices)
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices)
    service = django_filters.CharFilter(field_name="services__slug", distinct=True)
    commander = django_filters.CharFilter(field_name="commander__username")
    detected_after = django_filters.IsoDateTimeFilter(field_name="detected_at", lookup_expr="gte")
    detected_before = django_filters.IsoDateTimeFilter(field_name="detected_at", lookup_expr="lt")
    open = django_filters.BooleanFilter(method="filter_open")

    class Meta:
        model = Incident
        fields = ["status", "severity", "service", "commander", "customer_facing"]

    def filter_open(self, queryset, name, value):
        return queryset.open() if value else queryset.exclude(pk__in=queryset.open())
