"""Kafka probes: consumer-group lag and topic/partition health, read-only.

`lag` holds `kafka.consumer_lag` (committed offsets against high watermarks, per partition),
`topics` holds `kafka.topics` (leaders, replicas and in-sync replicas from topic metadata);
`clients` the client settings, deadline and error translation they share, and `results` the
table and check helpers. Clients are closed on every path. Importing this package registers
both probes.
"""

# Registration order is the order health probes run and the API lists them in: keep it.
# isort: off
from . import topics, lag

# isort: on
from .clients import Deadline, client_config, group_consumer
from .lag import (
    PartitionLag,
    TopicLag,
    groups_table,
    idle_group_warnings,
    partition_lag,
    topic_totals,
)
from .topics import PartitionState, partition_state

__all__ = [
    "Deadline",
    "PartitionLag",
    "PartitionState",
    "TopicLag",
    "client_config",
    "group_consumer",
    "groups_table",
    "idle_group_warnings",
    "lag",
    "partition_lag",
    "partition_state",
    "topic_totals",
    "topics",
]
