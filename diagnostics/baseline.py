"""Baseline vs now: what a probe result shows that its last `ok` run on the same target did not.

Two kinds of change matter to someone reading a result mid-incident:
- **new findings**: table rows whose identifying columns (`Table.key`) were not in the baseline
  (a pod that started crash-looping, a query that is now long-running, a partition with lag);
- **checks that moved**: a measured value whose status got worse than in the baseline (it crossed
  a threshold), with the value before and now.
Tables without a key are compared by whole rows, which is still right for small finding lists.
"""

from __future__ import annotations

from .probes.base import Status

MAX_NEW_ROWS = 20


def compare(current: dict, baseline: dict) -> dict:
    """A JSON-able description of what changed from `baseline` to `current` (result dicts)."""
    new_findings = []
    baseline_tables = {table["name"]: table for table in baseline.get("tables", [])}
    for table in current.get("tables", []):
        before = baseline_tables.get(table["name"])
        rows = _new_rows(table, before)
        if rows:
            new_findings.append(
                {
                    "table": table["name"],
                    "title": table.get("title", table["name"]),
                    "columns": table.get("columns", []),
                    "rows": rows[:MAX_NEW_ROWS],
                    "count": len(rows),
                }
            )

    baseline_checks = {check["name"]: check for check in baseline.get("checks", [])}
    moved = []
    for check in current.get("checks", []):
        before = baseline_checks.get(check["name"])
        if before is None:
            continue
        if Status.RANK.get(check.get("status"), 0) > Status.RANK.get(before.get("status"), 0):
            moved.append(
                {
                    "name": check["name"],
                    "label": check.get("label", check["name"]),
                    "before": before.get("value"),
                    "now": check.get("value"),
                    "unit": check.get("unit", ""),
                    "threshold": check.get("threshold", ""),
                    "status_before": before.get("status"),
                    "status_now": check.get("status"),
                }
            )
    return {"new_findings": new_findings, "worse_checks": moved}


def has_changes(changes: dict) -> bool:
    return bool(changes.get("new_findings") or changes.get("worse_checks"))


def _new_rows(table: dict, before: dict | None) -> list[list]:
    rows = table.get("rows") or []
    if before is None:
        return list(rows)
    columns = table.get("columns") or []
    key = [columns.index(name) for name in table.get("key") or () if name in columns]
    seen = {_identity(row, key) for row in before.get("rows") or []}
    return [row for row in rows if _identity(row, key) not in seen]


def _identity(row: list, key: list[int]) -> str:
    values = [row[i] for i in key if i < len(row)] if key else row
    return repr(values)
