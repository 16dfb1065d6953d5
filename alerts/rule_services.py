"""Writes for routing rules from the pages: create, delete, move; and the one-line-per-condition
text format the rule form uses.

Conditions are validated by `rules.ConditionSerializer`, the same validator the API uses, so a
rule saved from a page can never hold a condition the router does not understand (an unknown
op, a regex that does not compile).
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Max

from incidents.models import Severity, Symptom

from .models import Integration, MatchOp, RouteAction, RoutingRule
from .rules import ConditionSerializer

logger = logging.getLogger(__name__)

MAX_CONDITIONS = 20
VALUELESS_OPS = (MatchOp.EXISTS, MatchOp.NOT_EXISTS)
EXAMPLE = "labels.service equals checkout"


class RuleInvalid(Exception):
    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("; ".join(errors))


FIELD_HELP = ConditionSerializer().fields["field"].help_text


def _messages(errors, key: str = "") -> list[str]:
    if isinstance(errors, dict):
        return [message for name, value in errors.items() for message in _messages(value, name)]
    if isinstance(errors, list):
        return [message for item in errors for message in _messages(item, key)]
    if key == "field":  # the pattern's own message says nothing useful
        return [f"field must be {FIELD_HELP}"]
    return [f"{key}: {errors}" if key and key != "non_field_errors" else str(errors)]


def _condition_errors(conditions: list[dict]) -> tuple[list[dict], dict[int, list[str]]]:
    """Validated conditions, and the messages for each invalid one by its index."""
    serializer = ConditionSerializer(data=conditions, many=True)
    if serializer.is_valid():
        return [dict(condition) for condition in serializer.validated_data], {}
    errors = serializer.errors
    # DRF reports a list (one entry per item) or, since 3.16, {index: errors} for the bad
    # items only.
    by_index = errors.items() if isinstance(errors, dict) else enumerate(errors)
    return [], {index: _messages(item_errors) for index, item_errors in by_index if item_errors}


def conditions_clean(conditions: list[dict]) -> list[dict]:
    """Validated conditions (`{field, op, value}`), or RuleInvalid with one message each."""
    if len(conditions) > MAX_CONDITIONS:
        raise RuleInvalid([f"At most {MAX_CONDITIONS} conditions per rule."])
    cleaned, errors = _condition_errors(conditions)
    if errors:
        raise RuleInvalid(
            [
                f"Condition {index + 1}: {message}"
                for index, messages in sorted(errors.items())
                for message in messages
            ]
        )
    return cleaned


def conditions_from_text(text: str) -> list[dict]:
    """Parse one condition per line: `<field> <op> [value]`.

    e.g. `labels.service equals checkout`, `labels.alertname regex ^Disk`, `labels.team exists`.
    The value is the rest of the line, spaces included. Blank lines and `#` comments are skipped.
    Every problem is reported at once, by line number.
    """
    conditions, line_numbers, errors = [], [], []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 2)
        if len(parts) < 2:
            errors.append((number, f"write “<field> <op> <value>”, e.g. “{EXAMPLE}”."))
            continue
        field, op = parts[0], parts[1].lower()
        value = parts[2] if len(parts) == 3 else ""
        if op not in MatchOp.values:
            errors.append((number, f"unknown op “{op}”; use {', '.join(MatchOp.values)}."))
        elif op in VALUELESS_OPS and value:
            errors.append((number, f"“{op}” takes no value."))
        elif op not in VALUELESS_OPS and not value:
            errors.append((number, f"“{op}” needs a value."))
        else:
            conditions.append({"field": field, "op": op, "value": value})
            line_numbers.append(number)
    cleaned, by_index = _condition_errors(conditions)
    for index, messages in by_index.items():
        errors.extend((line_numbers[index], message) for message in messages)
    if errors:
        raise RuleInvalid([f"Line {number}: {message}" for number, message in sorted(errors)])
    if len(cleaned) > MAX_CONDITIONS:
        raise RuleInvalid([f"At most {MAX_CONDITIONS} conditions per rule."])
    return cleaned


def conditions_as_text(conditions: list[dict]) -> str:
    lines = []
    for condition in conditions or []:
        parts = [condition.get("field", ""), condition.get("op", "")]
        if condition.get("value"):
            parts.append(condition["value"])
        lines.append(" ".join(parts))
    return "\n".join(lines)


def _check_choices(*, severity: str, symptom: str, action: str) -> None:
    errors = []
    if severity and severity not in Severity.values:
        errors.append(f"Unknown severity {severity!r}.")
    if symptom and symptom not in Symptom.values:
        errors.append(f"Unknown symptom {symptom!r}.")
    if action not in RouteAction.values:
        errors.append(f"Unknown action {action!r}.")
    if errors:
        raise RuleInvalid(errors)


def rule_create(
    *,
    integration: Integration,
    name: str,
    conditions: list[dict],
    service=None,
    severity: str = "",
    symptom: str = "",
    action: str = RouteAction.AUTO,
    by=None,
) -> RoutingRule:
    """Add a rule after the integration's existing ones (the first match decides)."""
    conditions = conditions_clean(conditions)
    _check_choices(severity=severity, symptom=symptom, action=action)
    with transaction.atomic():
        # The integration row serializes position allocation between two admins adding rules.
        Integration.objects.select_for_update().filter(pk=integration.pk).exists()
        last = RoutingRule.objects.filter(integration=integration).aggregate(top=Max("position"))
        rule = RoutingRule.objects.create(
            integration=integration,
            position=0 if last["top"] is None else last["top"] + 1,
            name=name.strip()[:100],
            conditions=conditions,
            service=service,
            severity=severity,
            symptom=symptom,
            action=action,
        )
    logger.info("routing rule %s added to integration %s by %s", rule.pk, integration.pk, by)
    return rule


def rule_delete(*, rule: RoutingRule, by=None) -> None:
    rule_id, integration_id = rule.pk, rule.integration_id
    rule.delete()
    logger.info("routing rule %s of integration %s deleted by %s", rule_id, integration_id, by)


def rule_move(*, rule: RoutingRule, direction: str, by=None) -> RoutingRule:
    """Swap the rule with its neighbour above or below; positions are renumbered 0..n-1 so
    ties (e.g. rules created through the API at the same position) cannot make a move a no-op."""
    if direction not in ("up", "down"):
        raise ValueError(f"direction must be 'up' or 'down', not {direction!r}")
    with transaction.atomic():
        siblings = list(
            RoutingRule.objects.select_for_update()
            .filter(integration_id=rule.integration_id)
            .order_by("position", "pk")
        )
        index = next((i for i, sibling in enumerate(siblings) if sibling.pk == rule.pk), None)
        if index is None:
            return rule
        other = index - 1 if direction == "up" else index + 1
        if 0 <= other < len(siblings):
            siblings[index], siblings[other] = siblings[other], siblings[index]
        changed = []
        for position, sibling in enumerate(siblings):
            if sibling.position != position:
                sibling.position = position
                changed.append(sibling)
        RoutingRule.objects.bulk_update(changed, ["position"])
    logger.info("routing rule %s moved %s by %s", rule.pk, direction, by)
    return next(sibling for sibling in siblings if sibling.pk == rule.pk)
