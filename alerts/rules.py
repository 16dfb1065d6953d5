"""Routing: the first matching rule decides service, severity, symptom and action.

Rules of the integration come first (by position), then global rules (no integration). What a
rule leaves blank falls back to the defaults: service from the `service` label when it names a
catalog service, else the integration's default service; severity from the source's severity
word through the integration's severity map; action "auto" (P0/P1 open an incident, P2/P3
attach to the service's open incident).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from django.db.models import Q
from rest_framework import serializers

from catalog.models import Service
from incidents.models import Severity, Symptom

from .models import DEFAULT_SEVERITY_MAP, AlertGroup, MatchOp, RouteAction, RoutingRule

FIELDS = ("summary", "source", "severity", "dedup_key")
PAGING_SEVERITIES = (Severity.P0, Severity.P1)


class ConditionSerializer(serializers.Serializer):
    field = serializers.RegexField(
        r"^(labels|annotations)\.[A-Za-z0-9_.:-]{1,100}$|^(summary|source|severity|dedup_key)$",
        help_text="labels.<name>, annotations.<name>, summary, source, severity or dedup_key",
    )
    op = serializers.ChoiceField(choices=MatchOp.choices)
    value = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")

    def validate(self, attrs):
        if attrs["op"] == MatchOp.REGEX:
            try:
                re.compile(attrs["value"])
            except re.error as exc:
                raise serializers.ValidationError({"value": f"invalid regex: {exc}"}) from None
        return attrs


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def field_value(group: AlertGroup, field: str) -> str | None:
    if field.startswith("labels."):
        return group.labels.get(field.removeprefix("labels."))
    if field.startswith("annotations."):
        return group.annotations.get(field.removeprefix("annotations."))
    return {
        "summary": group.title,
        "source": group.source,
        "severity": group.source_severity,
        "dedup_key": group.dedup_key,
    }.get(field)


def condition_matches(group: AlertGroup, condition: dict) -> bool:
    value = field_value(group, condition.get("field", ""))
    op, expected = condition.get("op"), condition.get("value", "")
    if op == MatchOp.EXISTS:
        return value is not None
    if op == MatchOp.NOT_EXISTS:
        return value is None
    if op == MatchOp.NOT_EQUALS:
        return value != expected
    if value is None:
        return False
    if op == MatchOp.EQUALS:
        return value == expected
    if op == MatchOp.REGEX:
        try:
            # search, not match: like Alertmanager's =~ users expect anchors when they want them
            return _compiled(expected).search(value) is not None
        except re.error:
            return False
    return False


def rule_matches(rule: RoutingRule, group: AlertGroup) -> bool:
    return all(condition_matches(group, condition) for condition in rule.conditions or [])


@dataclass(frozen=True)
class Route:
    service: Service | None
    severity: str
    symptom: str
    action: str
    rule: RoutingRule | None


def rules_for(integration_id: int) -> list[RoutingRule]:
    rules = RoutingRule.objects.filter(
        Q(integration_id=integration_id) | Q(integration__isnull=True), enabled=True
    ).select_related("service")
    # The integration's own rules before the global ones, each by position.
    return sorted(rules, key=lambda rule: (rule.integration_id is None, rule.position, rule.pk))


def severity_from_word(word: str, severity_map: dict) -> str | None:
    if word in Severity.values:
        return word
    mapping = {**DEFAULT_SEVERITY_MAP, **(severity_map or {})}
    value = mapping.get(word.lower()) if word else None
    return value if value in Severity.values else None


def route(group: AlertGroup) -> Route:
    integration = group.integration
    rule = next((r for r in rules_for(integration.pk) if rule_matches(r, group)), None)
    service = rule.service if rule and rule.service_id else None
    if service is None:
        slug = group.labels.get("service")
        if slug:
            service = Service.objects.filter(Q(slug=slug) | Q(name__iexact=slug)).first()
    if service is None:
        service = integration.default_service
    severity = (rule.severity if rule else "") or (
        severity_from_word(group.source_severity, integration.severity_map)
        or integration.default_severity
    )
    symptom = (rule.symptom if rule else "") or group.labels.get("symptom", "")
    if symptom not in Symptom.values:
        symptom = Symptom.OTHER
    action = rule.action if rule else RouteAction.AUTO
    if action == RouteAction.AUTO:
        action = RouteAction.OPEN_INCIDENT if severity in PAGING_SEVERITIES else RouteAction.ATTACH
    return Route(service=service, severity=severity, symptom=symptom, action=action, rule=rule)
