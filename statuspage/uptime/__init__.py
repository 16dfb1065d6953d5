"""90-day uptime of the public components: daily rollups of their status history.

`rollup` computes a day from status changes (pure), `spans` reads public incidents as spans,
`refresh` keeps the UptimeDay rows current, `hooks` connects it to status changes and public
updates. The page reads the rows through `statuspage.selectors.uptime`. Definitions:
docs/statuspage.md, "Uptime".
"""

from .refresh import uptime_refresh, uptime_refresh_incident, uptime_refresh_service
from .rollup import WINDOW_DAYS

__all__ = ["WINDOW_DAYS", "uptime_refresh", "uptime_refresh_incident", "uptime_refresh_service"]
