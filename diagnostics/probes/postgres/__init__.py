"""PostgreSQL probes: connection pressure, long and blocked queries, slow statements,
replication lag and table access patterns.

One module per probe; `session` holds what they share — the read-only connection, the
translation of errors into short secret-free messages and the helpers that turn bounded
queries into findings. Probes read the statistics views only (pg_stat_activity,
pg_stat_statements, pg_stat_replication, pg_stat_user_tables) and return bounded tables.
Importing this package registers every probe.
"""

# Registration order is the order the API lists a target's probes in: keep it.
# isort: off
from . import connections, long_queries, top_statements, replication, table_activity

# isort: on
from .session import Session, ThresholdPair, read_only_session

__all__ = [
    "Session",
    "ThresholdPair",
    "connections",
    "long_queries",
    "read_only_session",
    "replication",
    "table_activity",
    "top_statements",
]
