"""Alert metrics: what the endpoints accepted and rejected, and how far behind processing is.

Counters live in the web processes (summed across gunicorn workers through
PROMETHEUS_MULTIPROC_DIR). Backlog and processing lag are read from the database at scrape
time, so they are right whichever worker processed the alerts.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, Min, Q
from django.utils import timezone
from prometheus_client import Counter
from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

RECEIVED = Counter(
    "opsportal_alert_requests_total",
    "Alert ingestion requests, by integration id (or kind when unauthenticated) and outcome.",
    ["kind", "integration", "outcome"],
)
ALERTS_ACCEPTED = Counter(
    "opsportal_alerts_accepted_total",
    "Alerts accepted (202) by the ingestion endpoints, including replayed deliveries.",
    ["kind", "integration", "delivery"],
)
REJECTED = Counter(
    "opsportal_alert_requests_rejected_total",
    "Ingestion requests rejected, by reason (invalid_payload, rate_limited, …).",
    ["kind", "integration", "reason"],
)


def accepted(*, integration: str, kind: str, alerts: int, fresh: bool) -> None:
    RECEIVED.labels(kind, integration, "accepted").inc()
    ALERTS_ACCEPTED.labels(kind, integration, "new" if fresh else "replayed").inc(alerts)


def rejected(*, integration: str, kind: str, reason: str) -> None:
    RECEIVED.labels(kind, integration, "rejected").inc()
    REJECTED.labels(kind, integration, reason).inc()


LAG_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
LAG_WINDOW = timedelta(minutes=15)


class AlertBacklogCollector(Collector):
    """Unprocessed deliveries, the oldest one's age, and processing lag over 15 minutes."""

    def collect(self):
        from .models import RawEvent
        from .services import MAX_ATTEMPTS

        now = timezone.now()
        pending = RawEvent.objects.filter(processed_at__isnull=True).aggregate(
            n=Count("pk"),
            oldest=Min("received_at"),
            failed=Count("pk", filter=Q(attempts__gte=MAX_ATTEMPTS)),
        )
        backlog = GaugeMetricFamily(
            "opsportal_alert_deliveries_pending", "Accepted deliveries not yet processed."
        )
        backlog.add_metric([], pending["n"])
        yield backlog
        failed = GaugeMetricFamily(
            "opsportal_alert_deliveries_failed",
            "Accepted deliveries whose processing failed repeatedly; kept for "
            "`manage.py reprocess_alert_deliveries` after a fix.",
        )
        failed.add_metric([], pending["failed"])
        yield failed
        age = GaugeMetricFamily(
            "opsportal_alert_oldest_pending_seconds",
            "Age of the oldest accepted delivery not yet processed (0 when none).",
        )
        oldest = pending["oldest"]
        age.add_metric([], (now - oldest).total_seconds() if oldest else 0.0)
        yield age

        lag = ExpressionWrapper(F("processed_at") - F("received_at"), output_field=DurationField())
        aggregates = {"total": Count("pk")}
        for bound in LAG_BUCKETS:
            aggregates[f"le_{bound}"] = Count("pk", filter=Q(lag__lte=timedelta(seconds=bound)))
        row = (
            RawEvent.objects.filter(processed_at__gte=now - LAG_WINDOW)
            .annotate(lag=lag)
            .aggregate(**aggregates)
        )
        family = GaugeHistogramMetricFamily(
            "opsportal_alert_processing_lag_seconds",
            "Time from accepting a delivery to having grouped its alerts, over the last 15 min.",
        )
        buckets = [(str(float(b)), row[f"le_{b}"]) for b in LAG_BUCKETS]
        buckets.append(("+Inf", row["total"]))
        family.add_metric([], buckets, 0.0)
        yield family
