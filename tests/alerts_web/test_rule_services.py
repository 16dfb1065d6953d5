"""alerts.rule_services: the writes behind the routing-rule controls and the condition format."""

from __future__ import annotations

import pytest

from alerts.models import RoutingRule
from alerts.rule_services import (
    RuleInvalid,
    conditions_as_text,
    conditions_clean,
    conditions_from_text,
    rule_create,
    rule_delete,
    rule_move,
)

pytestmark = pytest.mark.django_db


def test_conditions_round_trip_through_the_text_format():
    text = "labels.service equals checkout\nlabels.alertname regex ^Disk .*full\nlabels.team exists"
    conditions = conditions_from_text("  # comment\n" + text + "\n\n")
    assert conditions[1] == {"field": "labels.alertname", "op": "regex", "value": "^Disk .*full"}
    assert conditions_as_text(conditions) == text


def test_errors_name_the_line_the_person_typed():
    with pytest.raises(RuleInvalid) as caught:
        conditions_from_text("labels.a exists\n\n# note\nsummary regex (")
    assert caught.value.errors[0].startswith("Line 4: value: invalid regex")


def test_at_most_20_conditions():
    with pytest.raises(RuleInvalid, match="At most 20"):
        conditions_from_text("\n".join(f"labels.l{n} exists" for n in range(21)))
    with pytest.raises(RuleInvalid, match="At most 20"):
        conditions_clean([{"field": "summary", "op": "exists"}] * 21)


def test_rule_create_validates_conditions_and_choices(prom):
    with pytest.raises(RuleInvalid, match="Condition 1: op"):
        rule_create(integration=prom, name="x", conditions=[{"field": "summary", "op": "is"}])
    with pytest.raises(RuleInvalid, match="Unknown severity"):
        rule_create(integration=prom, name="x", conditions=[], severity="P9")
    assert not RoutingRule.objects.exists()


def test_new_rules_go_after_the_last_one(prom, hooks):
    RoutingRule.objects.create(integration=prom, name="from the API", position=7)
    RoutingRule.objects.create(integration=hooks, name="elsewhere", position=40)
    rule = rule_create(integration=prom, name="mine", conditions=[])
    assert rule.position == 8
    assert rule_create(integration=hooks, name="theirs", conditions=[]).position == 41


def test_move_renumbers_so_ties_cannot_block_a_move(prom):
    a = RoutingRule.objects.create(integration=prom, name="a", position=0)
    b = RoutingRule.objects.create(integration=prom, name="b", position=0)
    c = RoutingRule.objects.create(integration=prom, name="c", position=0)
    rule_move(rule=c, direction="up")
    ordered = list(RoutingRule.objects.order_by("position", "pk").values_list("name", "position"))
    assert ordered == [("a", 0), ("c", 1), ("b", 2)]
    rule_move(rule=a, direction="up")  # first already: unchanged
    assert RoutingRule.objects.get(pk=a.pk).position == 0
    rule_delete(rule=b)
    assert list(RoutingRule.objects.values_list("name", flat=True)) == ["a", "c"]
    with pytest.raises(ValueError):
        rule_move(rule=a, direction="left")


def test_every_problem_is_reported_at_once_in_line_order():
    with pytest.raises(RuleInvalid) as caught:
        conditions_from_text("labels.alertname regex ^(Disk\nlabels.team frob x\nsummary")
    assert [error.split(":")[0] for error in caught.value.errors] == ["Line 1", "Line 2", "Line 3"]
