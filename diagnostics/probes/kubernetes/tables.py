"""How Kubernetes probes shape values for results: bounded tables, timestamps, ages."""

from __future__ import annotations

from datetime import UTC, datetime

from ..base import Table

MAX_ROWS = 200
MESSAGE_CHARS = 300
EPOCH = datetime.min.replace(tzinfo=UTC)


def bounded(table: Table, rows: list[list], limit: int = MAX_ROWS) -> Table:
    """The table holding at most `limit` rows, with `total_rows` set when some were cut."""
    table.rows = rows[:limit]
    if len(rows) > limit:
        table.total_rows = len(rows)
    return table


def iso(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def age_text(since: datetime | None, now: datetime) -> str:
    """kubectl-like age: 45s, 12m, 3h5m, 2d5h."""
    if since is None:
        return ""
    seconds = max(0, int((now - since).total_seconds()))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes}m"
    return f"{minutes}m" if minutes else f"{seconds}s"
