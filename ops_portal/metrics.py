"""Prometheus metrics: request count and latency per route, and one gauge per component status.

Routes are labelled by their URL pattern (`services/<slug:slug>/`), never the raw path, so label
cardinality stays bounded. Under gunicorn with several workers set PROMETHEUS_MULTIPROC_DIR so
every worker's counters are summed at scrape time.
"""

from __future__ import annotations

import hmac
import os
import time

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

REQUESTS = Counter(
    "opsportal_http_requests_total",
    "HTTP requests handled, by method, route pattern and status code.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "opsportal_http_request_duration_seconds",
    "Time spent handling HTTP requests, by method and route pattern.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def _route(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "<unmatched>"
    return "/" + (match.route or match.view_name or "")


class RequestMetricsMiddleware:
    """Count and time every request; outermost so it sees the final status code."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        route = _route(request)
        LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
        REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        return response


class ComponentStatusCollector(Collector):
    """At scrape time, one gauge sample per service and status: 1 for its current status."""

    def collect(self):
        from catalog.models import ComponentStatus, Service

        family = GaugeMetricFamily(
            "opsportal_component_status",
            "Current status-page component status of each service (1 = current status).",
            labels=["service", "status"],
        )
        try:
            rows = list(Service.objects.values_list("slug", "status"))
        except Exception:  # a scrape during a database outage still returns the HTTP metrics
            rows = []
        for slug, current in rows:
            for status in ComponentStatus.values:
                family.add_metric([slug, status], 1.0 if status == current else 0.0)
        yield family


# Collectors evaluated at scrape time; apps add theirs from AppConfig.ready().
SCRAPE_COLLECTORS: list[Collector] = []
# Counters and histograms kept in this process (apps add theirs with register_process_metric);
# under PROMETHEUS_MULTIPROC_DIR the multiprocess collector reads them from the shared files.
PROCESS_METRICS: list[Collector] = [REQUESTS, LATENCY]


def register_process_metric(metric: Collector) -> None:
    if metric not in PROCESS_METRICS:
        PROCESS_METRICS.append(metric)


def register_scrape_collector(collector: Collector) -> None:
    if not any(type(existing) is type(collector) for existing in SCRAPE_COLLECTORS):
        SCRAPE_COLLECTORS.append(collector)


class _Guarded(Collector):
    """A scrape during a database outage still returns the HTTP metrics."""

    def __init__(self, inner: Collector):
        self.inner = inner

    def collect(self):
        try:
            yield from list(self.inner.collect())
        except Exception:
            return


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        for collector in PROCESS_METRICS:
            registry.register(collector)
    registry.register(ComponentStatusCollector())
    for collector in SCRAPE_COLLECTORS:
        registry.register(_Guarded(collector))
    return registry


def _authorized(request) -> bool:
    if not settings.METRICS_TOKEN:
        return True
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), settings.METRICS_TOKEN.encode()
    )


@never_cache
@require_GET
def metrics(request):
    if not _authorized(request):
        response = HttpResponse("metrics token required\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
