"""How both Kafka probes shape findings: tables cut to a bounded size, and count checks."""

from __future__ import annotations

from ..base import Check, Status, Table

MAX_ROWS = 200  # rows per table


def count_check(name: str, label: str, count: int, status: str) -> Check:
    """A count of findings of which a single one already means `status`."""
    return Check(name, label, count, status if count else Status.OK, f"{status} ≥ 1")


def bounded(table: Table) -> Table:
    """The table cut to MAX_ROWS rows, with `total_rows` set when some were cut."""
    if len(table.rows) > MAX_ROWS:
        table.total_rows = len(table.rows)
        table.rows = table.rows[:MAX_ROWS]
    return table
