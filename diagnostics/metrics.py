"""Diagnostics metrics, read from the database at scrape time (the probes run in worker
processes, whose counters /metrics cannot see): open probe runs by state, the oldest queued
run's age (a stalled `probes` worker shows here first), and finished runs by probe and status
over the last hour."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

RECENT = timedelta(hours=1)


class ProbeRunCollector(Collector):
    def collect(self):
        from .models import ProbeRun, RunState

        now = timezone.now()
        open_runs = GaugeMetricFamily(
            "opsportal_probe_runs_open", "Probe runs not finished yet, by state.", labels=["state"]
        )
        counts = dict(
            ProbeRun.objects.open().values_list("state").annotate(n=Count("pk")).order_by()
        )
        for state in (RunState.QUEUED, RunState.RUNNING):
            open_runs.add_metric([state], counts.get(state, 0))
        yield open_runs

        oldest = ProbeRun.objects.filter(state=RunState.QUEUED).aggregate(at=Min("queued_at"))
        age = (now - oldest["at"]).total_seconds() if oldest["at"] else 0.0
        yield GaugeMetricFamily(
            "opsportal_probe_oldest_queued_seconds",
            "Age of the oldest probe run no worker has started (0 when none).",
            value=age,
        )

        finished = GaugeMetricFamily(
            "opsportal_probe_runs_finished_last_hour",
            "Probe runs finished in the last hour, by probe and status.",
            labels=["probe", "status"],
        )
        rows = (
            ProbeRun.objects.filter(state=RunState.DONE, finished_at__gte=now - RECENT)
            .values_list("probe", "status")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for probe, status, n in rows:
            finished.add_metric([probe, status], n)
        yield finished
