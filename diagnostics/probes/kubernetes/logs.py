"""kubernetes.logs: a bounded tail of each pod's log, filtered by a regular expression.

Bounded three ways: the API returns at most `tail_lines` lines and `limit_bytes` bytes per pod
from the last `since_minutes`; at most `max_pods` pods are read (not-ready ones first); each
line is cut before matching and at most `max_lines` matches are kept. The pattern is validated
up front, including a guard against the nested quantifiers that make backtracking explode.
"""

from __future__ import annotations

import re

from rest_framework import serializers

from .. import registry
from ..base import Check, ProbeResult, Table, level
from .pods import chosen_container, is_ready
from .session import KubeApiError, KubernetesProbe, KubeSession
from .tables import MAX_ROWS, MESSAGE_CHARS, bounded

DEFAULT_PATTERN = r"(?i)error|slow|timeout|exception"
# A quantified group that itself holds a quantifier — (a+)+, (\w*\s?)*, (.*x){20} — is what
# makes backtracking catastrophic; rejecting the shape is cheaper than timing out a worker.
NESTED_QUANTIFIER = re.compile(r"\([^()]*[+*][^()]*\)(?:[+*]|\{\d)")
MATCH_LINE_CHARS = 2_000  # a line is cut to this before matching, bounding the regex's input
SHOW_LINE_CHARS = 500


class LogsParams(serializers.Serializer):
    pattern = serializers.CharField(
        max_length=200,
        default=DEFAULT_PATTERN,
        trim_whitespace=False,
        help_text="Python regular expression; log lines matching it are reported.",
    )
    max_lines = serializers.IntegerField(
        min_value=1, max_value=MAX_ROWS, default=50, help_text="Most matching lines reported."
    )
    tail_lines = serializers.IntegerField(
        min_value=1, max_value=5_000, default=500, help_text="Lines read from the end of each log."
    )
    since_minutes = serializers.IntegerField(
        min_value=1, max_value=1_440, default=60, help_text="Only log lines this recent."
    )
    limit_bytes = serializers.IntegerField(
        min_value=1_024, max_value=1_048_576, default=262_144, help_text="Bytes read per pod."
    )
    max_pods = serializers.IntegerField(
        min_value=1,
        max_value=50,
        default=10,
        help_text="Pods whose logs are read, not-ready first.",
    )

    def validate_pattern(self, value: str) -> str:
        if NESTED_QUANTIFIER.search(value):
            raise serializers.ValidationError(
                "Nested quantifiers such as (a+)+ can make matching catastrophically slow."
            )
        try:
            re.compile(value)
        except re.error as exc:
            raise serializers.ValidationError(f"Not a valid regular expression: {exc}.") from None
        return value


def read_log(kube: KubeSession, pod: str, container: str, params: dict) -> str:
    # Raw bytes rather than the client's decoding: it json-parses the body first, which turns
    # a log that happens to be one JSON document into a Python repr.
    response = kube.call(
        "read pod logs",
        kube.core.read_namespaced_pod_log,
        name=pod,
        namespace=kube.namespace,
        container=container,
        tail_lines=params["tail_lines"],
        since_seconds=params["since_minutes"] * 60,
        limit_bytes=params["limit_bytes"],
        _preload_content=False,
    )
    try:
        return response.read(params["limit_bytes"]).decode("utf-8", errors="replace")
    finally:
        response.close()  # not back to the pool: a body read only in part would poison it


@registry.register
class LogsProbe(KubernetesProbe):
    name = "kubernetes.logs"
    title = "Matching lines in pod logs"
    description = "A bounded tail of each pod's log, filtered by a regular expression."
    params_class = LogsParams

    def inspect(self, kube: KubeSession, params: dict) -> ProbeResult:
        pattern = re.compile(params["pattern"])
        configured = kube.config.get("container")
        pods = sorted(kube.pods(), key=lambda p: (is_ready(p), p.metadata.name))
        warnings = []
        if len(pods) > params["max_pods"]:
            warnings.append(f"logs read from {params['max_pods']} of {len(pods)} pods")
        rows, pods_read, pods_matching = [], 0, set()
        for pod in pods[: params["max_pods"]]:
            name, container = pod.metadata.name, chosen_container(pod, configured)
            if container is None:
                warnings.append(f"{name}: no container {configured}")
                continue
            try:
                text = read_log(kube, name, container.name, params)
            except KubeApiError as exc:
                if exc.status not in (400, 404):  # 400: container not started yet; 404: pod gone
                    raise
                warnings.append(f"{name}: {exc.api_message}"[:MESSAGE_CHARS])
                continue
            pods_read += 1
            for line in text.splitlines():
                if pattern.search(line[:MATCH_LINE_CHARS]):
                    pods_matching.add(name)
                    rows.append([name, container.name, line[:SHOW_LINE_CHARS]])
        summary = (
            f"{len(rows)} lines matching {params['pattern']} in {len(pods_matching)} of "
            f"{pods_read} pods (last {params['tail_lines']} lines, {params['since_minutes']} min)"
        )
        label = "Log lines matching the pattern"
        check = Check(
            "matching_lines", label, len(rows), level(len(rows), warning=1), "warning ≥ 1"
        )
        columns = ["pod", "container", "line"]
        table = Table(
            "matching_lines", "Matching log lines", columns, key=("pod", "container", "line")
        )
        raw = {"pattern": params["pattern"], "matches": len(rows), "pods_read": pods_read}
        table = bounded(table, rows, params["max_lines"])
        return ProbeResult.from_checks(summary, [check], tables=[table], warnings=warnings, raw=raw)
