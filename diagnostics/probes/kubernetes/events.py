"""kubernetes.events: recent Warning events about the target, newest first.

The API filters on `type=Warning`; we keep the events whose involved object is one of the
target's pods, its deployment, its ReplicaSets or its service, seen within `since_minutes`.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

from rest_framework import serializers

from .. import registry
from ..base import Check, ProbeResult, Table, level
from .session import KubernetesProbe, KubeSession
from .tables import MAX_ROWS, MESSAGE_CHARS, bounded, iso


class TargetObjects:
    """Decides whether an event's involved object belongs to the target.

    A deployment's pods are named `<deployment>-<template hash>-<5 chars>` and its ReplicaSets
    `<deployment>-<template hash>`. Matching those shapes also catches events of pods that no
    longer exist (one that never got scheduled, one replaced after a crash) without catching a
    `checkout-worker` deployment's pods for `checkout`.
    """

    def __init__(self, kube: KubeSession):
        self.pods = {pod.metadata.name for pod in kube.pods()}
        self.deployment = kube.config.get("deployment")
        self.service = kube.config.get("service")
        prefix = re.escape(self.deployment or "")
        self.deployment_pod = re.compile(rf"^{prefix}-[a-z0-9]{{1,10}}-[a-z0-9]{{5}}$")
        self.deployment_rs = re.compile(rf"^{prefix}-[a-z0-9]{{1,10}}$")

    def __call__(self, obj) -> bool:
        if obj is None:
            return False
        if obj.kind == "Pod":
            return obj.name in self.pods or bool(
                self.deployment and self.deployment_pod.match(obj.name)
            )
        if self.deployment and obj.kind == "ReplicaSet":
            return bool(self.deployment_rs.match(obj.name))
        if self.deployment and obj.name == self.deployment:
            return True  # the Deployment itself, its HorizontalPodAutoscaler
        return bool(
            self.service and obj.kind in ("Service", "Endpoints") and obj.name == self.service
        )


def event_last_seen(event) -> datetime | None:
    """When the event last happened; newer events (events.k8s.io) only set eventTime/series."""
    series = event.series
    return (
        event.last_timestamp
        or (series.last_observed_time if series else None)
        or event.event_time
        or event.first_timestamp
        or event.metadata.creation_timestamp
    )


def event_count(event) -> int:
    return (event.series.count if event.series else None) or event.count or 1


class EventsParams(serializers.Serializer):
    since_minutes = serializers.IntegerField(
        min_value=1, max_value=10_080, default=60, help_text="Only events seen this recently."
    )
    max_events = serializers.IntegerField(
        min_value=1, max_value=MAX_ROWS, default=50, help_text="Most events listed, newest first."
    )


@registry.register
class EventsProbe(KubernetesProbe):
    name = "kubernetes.events"
    title = "Recent warning events"
    description = "Warning events about the target's pods, ReplicaSets, deployment and service."
    params_class = EventsParams

    def inspect(self, kube: KubeSession, params: dict) -> ProbeResult:
        since = datetime.now(UTC) - timedelta(minutes=params["since_minutes"])
        concerns = TargetObjects(kube)
        listed = kube.list("events", kube.core.list_namespaced_event, field_selector="type=Warning")
        seen = [(event_last_seen(e), e) for e in listed if concerns(e.involved_object)]
        recent = sorted(
            ((when, e) for when, e in seen if when and when >= since),
            key=lambda pair: pair[0],
            reverse=True,
        )
        occurrences: Counter[str] = Counter()
        for _, event in recent:
            occurrences[event.reason or "?"] += event_count(event)
        window = f"the last {params['since_minutes']} min"
        if recent:
            reasons = ", ".join(f"{reason} ×{n}" for reason, n in occurrences.most_common(5))
            summary = f"{len(recent)} warning events for {kube.subject()} in {window}: {reasons}"
        else:
            summary = f"no warning events for {kube.subject()} in {window}"
        columns = ["last_seen", "reason", "object", "count", "message"]
        table = Table("warning_events", "Warning events, newest first", columns)
        table.key = ("reason", "object")
        rows = [
            [
                iso(when),
                e.reason,
                f"{e.involved_object.kind}/{e.involved_object.name}",
                event_count(e),
                (e.message or "")[:MESSAGE_CHARS],
            ]
            for when, e in recent
        ]
        label = f"Warning events in {window}"
        check = Check(
            "warning_events", label, len(recent), level(len(recent), warning=1), "warning ≥ 1"
        )
        raw = {"events": len(recent), "occurrences_by_reason": dict(occurrences)}
        table = bounded(table, rows, params["max_events"])
        return ProbeResult.from_checks(summary, [check], tables=[table], raw=raw)
