"""Label selectors: as the API's query string, and evaluated against a pod's labels.

The API server evaluates a selector when we list with it; evaluating one ourselves is needed
for network policies, whose podSelector we must apply to the pods we already fetched.
"""

from __future__ import annotations

OPERATOR_TEXT = {
    "In": "{key} in ({values})",
    "NotIn": "{key} notin ({values})",
    "Exists": "{key}",
    "DoesNotExist": "!{key}",
}


def selector_string(selector) -> str:
    """A V1LabelSelector as the query string the API takes ("" selects everything)."""
    if selector is None:
        return ""
    terms = [f"{key}={value}" for key, value in sorted((selector.match_labels or {}).items())]
    for expression in selector.match_expressions or []:
        text = OPERATOR_TEXT.get(expression.operator, "{key} " + expression.operator)
        terms.append(text.format(key=expression.key, values=",".join(expression.values or [])))
    return ",".join(terms)


def selector_matches(selector, labels: dict) -> bool:
    """Whether a V1LabelSelector selects these labels; an empty or missing selector selects all."""
    if selector is None:
        return True
    if any(labels.get(key) != value for key, value in (selector.match_labels or {}).items()):
        return False
    return all(expression_matches(e, labels) for e in selector.match_expressions or [])


def expression_matches(expression, labels: dict) -> bool:
    present = expression.key in labels
    value_in = present and labels[expression.key] in (expression.values or [])
    outcomes = {
        "In": value_in,
        "NotIn": not value_in,
        "Exists": present,
        "DoesNotExist": not present,
    }
    return outcomes.get(expression.operator, False)  # an unknown operator selects nothing
