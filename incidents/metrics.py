"""Prometheus collectors for incidents, evaluated at scrape time from the database.

Each is one aggregate query, so a scrape costs the same with 10 or 100,000 incidents.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from .models import Incident, Severity, Status

# Seconds: 1 min … 1 day, the range MTTA/MTTR live in.
BUCKETS = (60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400)


def _histogram(name: str, help_text: str, start: str, end: str) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, help_text, labels=["severity"])
    duration = ExpressionWrapper(F(end) - F(start), output_field=DurationField())
    aggregates = {"total": Count("pk"), "sum": Sum("d")}
    for bound in BUCKETS:
        aggregates[f"le_{bound}"] = Count("pk", filter=Q(d__lte=timedelta(seconds=bound)))
    rows = (
        Incident.objects.filter(**{f"{end}__isnull": False})
        .annotate(d=duration)
        .values("severity")
        .annotate(**aggregates)
    )
    by_severity = {row["severity"]: row for row in rows}
    for severity in Severity.values:
        row = by_severity.get(severity)
        if row is None:
            buckets = [(str(float(b)), 0) for b in BUCKETS] + [("+Inf", 0)]
            family.add_metric([severity], buckets, 0.0)
            continue
        buckets = [(str(float(b)), row[f"le_{b}"]) for b in BUCKETS] + [("+Inf", row["total"])]
        total = row["sum"].total_seconds() if row["sum"] is not None else 0.0
        family.add_metric([severity], buckets, total)
    return family


class IncidentCollector(Collector):
    def collect(self):
        gauge = GaugeMetricFamily(
            "opsportal_incidents",
            "Incidents by severity and status.",
            labels=["severity", "status"],
        )
        counts = {
            (row["severity"], row["status"]): row["n"]
            for row in Incident.objects.values("severity", "status").annotate(n=Count("pk"))
        }
        for severity in Severity.values:
            for status in Status.values:
                gauge.add_metric([severity, status], counts.get((severity, status), 0))
        yield gauge
        yield _histogram(
            "opsportal_incident_time_to_acknowledge_seconds",
            "Time from detection to acknowledgement.",
            "detected_at",
            "acknowledged_at",
        )
        yield _histogram(
            "opsportal_incident_time_to_resolve_seconds",
            "Time from detection to resolution.",
            "detected_at",
            "resolved_at",
        )
