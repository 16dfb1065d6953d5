"""Reading stored Kubernetes probe results for suggestions.

`suggest` receives only the stored result dict (tables as {name, columns, rows, …}), not the
target, so the deployment's name for a label comes from the objects it owns: a ReplicaSet is
named `<deployment>-<pod-template-hash>`, its pods `<replicaset>-<5 characters>`.
"""

from __future__ import annotations

from collections import Counter

STALLED = "ProgressDeadlineExceeded"


def table_rows(result: dict, name: str) -> list[dict]:
    for table in result.get("tables") or []:
        if table.get("name") == name:
            columns = table.get("columns") or []
            return [dict(zip(columns, row, strict=False)) for row in table.get("rows") or []]
    return []


def rollout_broken(result: dict) -> bool:
    """A rollout past its progress deadline, or a deployment without minimum availability."""
    conditions = (result.get("raw") or {}).get("conditions") or {}
    progressing = conditions.get("Progressing") or {}
    available = conditions.get("Available") or {}
    return progressing.get("reason") == STALLED or available.get("status") == "False"


def _most_common(names: list[str]) -> str | None:
    names = [n for n in names if n]
    return Counter(names).most_common(1)[0][0] if names else None


def deployment_from_replicasets(rows: list[dict]) -> str | None:
    return _most_common([str(r.get("replicaset") or "").rpartition("-")[0] for r in rows])


def deployment_from_pods(pods: list[str]) -> str | None:
    return _most_common([p.rsplit("-", 2)[0] if p.count("-") >= 2 else "" for p in pods])


def previous_revision(rows: list[dict], current: str) -> int | None:
    """The revision before the current one, when the listed ReplicaSets prove which it is.

    The rollout probe lists only the ReplicaSets that hold pods, so a lower listed revision is
    not necessarily the previous one; revision current-1 is, as revisions are numbered in
    sequence. Otherwise None: the rollback preview finds it from the whole history.
    """
    try:
        previous = int(current) - 1
    except (TypeError, ValueError):
        return None
    listed = {str(r.get("revision")) for r in rows}
    return previous if previous >= 1 and str(previous) in listed else None
