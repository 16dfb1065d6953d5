"""One month of public history: the incidents that became public and the maintenance completed
in it (the history pages)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from .components import public_components
from .incidents import PublicIncident, incidents_between
from .maintenance import PublicMaintenance, completed_windows_between, public_maintenances

# A month with more public incidents than this would be a page nobody reads to the end; the
# bound keeps the page's cost fixed whatever happens.
HISTORY_MONTH_LIMIT = 200


@dataclass(frozen=True)
class MonthHistory:
    month: date  # the first day of the month
    incidents: tuple[PublicIncident, ...]  # newest first
    maintenances: tuple[PublicMaintenance, ...]  # most recently completed first


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """[start, end) of a calendar month in UTC, the time zone the pages print."""
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    if month.month == 12:
        return start, datetime(month.year + 1, 1, 1, tzinfo=UTC)
    return start, datetime(month.year, month.month + 1, 1, tzinfo=UTC)


def month_history(month: date) -> MonthHistory:
    """The month's public incidents and completed public maintenance, in eight queries."""
    start, end = month_bounds(month)
    components = public_components()
    incidents = incidents_between(start, end, components, limit=HISTORY_MONTH_LIMIT)
    windows = completed_windows_between(start, end, limit=HISTORY_MONTH_LIMIT)
    return MonthHistory(
        month=month.replace(day=1),
        incidents=tuple(incidents),
        maintenances=tuple(public_maintenances(windows, components)),
    )
