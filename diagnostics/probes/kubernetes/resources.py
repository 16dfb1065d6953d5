"""kubernetes.resources: CPU and memory use against requests and limits ("top pods").

Requests and limits come from the pod specs, usage from metrics-server
(`metrics.k8s.io/v1beta1` PodMetrics). Use at or above a share of the limit is a finding: CPU
gets throttled, memory gets OOMKilled. Without metrics-server the probe still reports requests
and limits, with a warning.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from kubernetes import client as k8s
from rest_framework import serializers

from .. import registry
from ..base import Check, ProbeResult, Status, Table, level
from .quantities import mebibytes, millicores
from .session import LIST_LIMIT, KubeApiError, KubernetesProbe, KubeSession
from .tables import bounded

CPU_RISK = "CPU near its limit: throttling risk"
MEMORY_RISK = "memory near its limit: OOM risk"
CONTAINER_COLUMNS = ["pod", "container", "cpu_m", "cpu_request_m", "cpu_limit_m"]
CONTAINER_COLUMNS += ["cpu_percent_of_limit", "memory_mib", "memory_request_mib"]
CONTAINER_COLUMNS += ["memory_limit_mib", "memory_percent_of_limit"]


@dataclass
class ContainerResources:
    pod: str
    container: str
    cpu_request_m: float | None
    cpu_limit_m: float | None
    memory_request_mib: float | None
    memory_limit_mib: float | None
    cpu_m: float | None = None
    memory_mib: float | None = None

    @property
    def cpu_percent(self) -> float | None:
        return percent(self.cpu_m, self.cpu_limit_m)

    @property
    def memory_percent(self) -> float | None:
        return percent(self.memory_mib, self.memory_limit_mib)

    def row(self) -> list:
        cpu = [self.cpu_m, self.cpu_request_m, self.cpu_limit_m, self.cpu_percent]
        memory = [
            self.memory_mib,
            self.memory_request_mib,
            self.memory_limit_mib,
            self.memory_percent,
        ]
        return [self.pod, self.container, *cpu, *memory]


def percent(usage: float | None, limit: float | None) -> float | None:
    return round(usage / limit * 100, 1) if usage is not None and limit else None


def declared_resources(pods: list) -> list[ContainerResources]:
    found = []
    for pod in pods:
        for container in pod.spec.containers or []:
            resources = container.resources or k8s.V1ResourceRequirements()
            requests, limits = resources.requests or {}, resources.limits or {}
            found.append(
                ContainerResources(
                    pod.metadata.name,
                    container.name,
                    millicores(requests.get("cpu")),
                    millicores(limits.get("cpu")),
                    mebibytes(requests.get("memory")),
                    mebibytes(limits.get("memory")),
                )
            )
    return found


def measured_usage(kube: KubeSession) -> dict | str:
    """{(pod, container): (millicores, MiB)} from metrics-server, or why there is none."""
    try:
        listing = kube.call(
            "list pods.metrics.k8s.io",
            kube.custom.list_namespaced_custom_object,
            group="metrics.k8s.io",
            version="v1beta1",
            namespace=kube.namespace,
            plural="pods",
            label_selector=kube.pod_selector(),
            limit=LIST_LIMIT,
        )
    except KubeApiError as exc:
        # Without metrics-server the API group is unknown (404) or its APIService is down
        # (503); a role without metrics access (403) still lets us show requests and limits.
        if exc.status in (403, 404, 503):
            return f"HTTP {exc.status}"
        raise
    usage = {}
    for item in listing.get("items") or []:
        for container in item.get("containers") or []:
            numbers = container.get("usage") or {}
            key = (item["metadata"]["name"], container["name"])
            usage[key] = (millicores(numbers.get("cpu")), mebibytes(numbers.get("memory")))
    return usage


def findings(containers: list[ContainerResources], params: dict) -> list[list]:
    rows = []
    for c in containers:
        if c.cpu_percent is not None and c.cpu_percent >= params["cpu_limit_percent"]:
            rows.append([c.pod, c.container, CPU_RISK, c.cpu_percent])
        if c.memory_percent is not None and c.memory_percent >= params["memory_limit_percent"]:
            rows.append([c.pod, c.container, MEMORY_RISK, c.memory_percent])
        if c.cpu_limit_m is None:
            rows.append([c.pod, c.container, "no CPU limit", None])
        if c.memory_limit_mib is None:
            rows.append([c.pod, c.container, "no memory limit", None])
    return rows


def without_limits(found: list[list]) -> int:
    return len({(row[0], row[1]) for row in found if row[2].startswith("no ")})


def top_pods(containers: list[ContainerResources], sort_by: str) -> Table:
    totals: dict[str, list] = {}
    for c in containers:
        total = totals.setdefault(c.pod, [c.pod, None, None])
        for index, value in ((1, c.cpu_m), (2, c.memory_mib)):
            if value is not None:
                total[index] = round((total[index] or 0) + value, 1)
    index = 1 if sort_by == "cpu" else 2
    rows = sorted(totals.values(), key=lambda r: (r[index] is None, -(r[index] or 0), r[0]))
    return bounded(
        Table("top_pods", "Top pods", ["pod", "cpu_m", "memory_mib"], key=("pod",)), rows
    )


class ResourcesParams(serializers.Serializer):
    sort_by = serializers.ChoiceField(
        choices=["cpu", "memory"], default="cpu", help_text="Order of the top pods and containers."
    )
    cpu_limit_percent = serializers.FloatField(
        min_value=1,
        max_value=100,
        default=90,
        help_text="CPU use at or above this % of the limit is a throttling risk (warning).",
    )
    memory_limit_percent = serializers.FloatField(
        min_value=1,
        max_value=100,
        default=90,
        help_text="Memory use at or above this % of the limit is an OOM risk (warning).",
    )


@registry.register
class ResourcesProbe(KubernetesProbe):
    name = "kubernetes.resources"
    title = "CPU and memory vs requests and limits"
    description = "Per-container requests and limits joined with metrics-server usage (top pods)."
    params_class = ResourcesParams

    def inspect(self, kube: KubeSession, params: dict) -> ProbeResult:
        containers = declared_resources(kube.pods())
        usage = measured_usage(kube)
        warnings = []
        if isinstance(usage, str):
            warnings.append(f"metrics-server not available ({usage}): only requests and limits")
        else:
            for c in containers:
                c.cpu_m, c.memory_mib = usage.get((c.pod, c.container), (None, None))
        metric = "cpu_m" if params["sort_by"] == "cpu" else "memory_mib"
        containers.sort(
            key=lambda c: (
                getattr(c, metric) is None,
                -(getattr(c, metric) or 0),
                c.pod,
                c.container,
            )
        )
        found = findings(containers, params)
        columns = ["pod", "container", "finding", "percent_of_limit"]
        findings_table = Table("findings", "Findings", columns, key=("pod", "container", "finding"))
        containers_table = Table(
            "containers", "Containers: usage, requests and limits", CONTAINER_COLUMNS
        )
        containers_table.key = ("pod", "container")
        tables = [
            top_pods(containers, params["sort_by"]),
            bounded(containers_table, [c.row() for c in containers]),
            bounded(findings_table, found),
        ]
        metrics = not warnings
        raw = {"sort_by": params["sort_by"], "containers": len(containers), "metrics": metrics}
        return ProbeResult.from_checks(
            self.summary(containers, found, params, metrics=metrics),
            self.checks(containers, found, params, metrics=metrics),
            tables=tables,
            warnings=warnings,
            raw=raw,
        )

    @staticmethod
    def checks(containers, found, params, *, metrics: bool) -> list[Check]:
        cpu = max((c.cpu_percent for c in containers if c.cpu_percent is not None), default=None)
        memory = max(
            (c.memory_percent for c in containers if c.memory_percent is not None), default=None
        )
        cpu_threshold, memory_threshold = (
            params["cpu_limit_percent"],
            params["memory_limit_percent"],
        )
        checks = [
            Check(
                "max_cpu_percent_of_limit",
                "Highest CPU use vs limit",
                cpu,
                level(cpu, warning=cpu_threshold),
                f"warning ≥ {cpu_threshold:g} % (throttling risk)",
                unit="%",
            ),
            Check(
                "max_memory_percent_of_limit",
                "Highest memory use vs limit",
                memory,
                level(memory, warning=memory_threshold),
                f"warning ≥ {memory_threshold:g} % (OOM risk)",
                unit="%",
            ),
            # Missing limits are hygiene, not an outage: listed as findings, not graded.
            Check(
                "containers_without_limits",
                "Containers without a CPU or memory limit",
                without_limits(found),
                Status.OK,
                "reported, not graded",
            ),
        ]
        if not metrics:
            checks.append(
                Check(
                    "metrics_available",
                    "metrics-server answers",
                    "no",
                    Status.WARNING,
                    "warning when the metrics API is unavailable",
                )
            )
        return checks

    @staticmethod
    def summary(containers, found, params, *, metrics: bool) -> str:
        if not containers:
            return "no containers found"
        top = containers[0]
        if not metrics:
            parts = [f"{len(containers)} containers; metrics-server not available"]
        elif params["sort_by"] == "cpu":
            share = f" ({top.cpu_percent:g} % of limit)" if top.cpu_percent is not None else ""
            parts = [f"top CPU: {top.pod}/{top.container} {top.cpu_m or 0:g}m{share}"]
        else:
            share = (
                f" ({top.memory_percent:g} % of limit)" if top.memory_percent is not None else ""
            )
            parts = [f"top memory: {top.pod}/{top.container} {top.memory_mib or 0:g}Mi{share}"]
        counts = Counter(row[2] for row in found)
        for finding, label in (
            (CPU_RISK, "near the CPU limit"),
            (MEMORY_RISK, "near the memory limit"),
        ):
            if counts[finding]:
                parts.append(f"{counts[finding]} {label}")
        if without_limits(found):
            parts.append(f"{without_limits(found)} without limits")
        return "; ".join(parts)
