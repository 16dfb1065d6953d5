"""`kafka.topics`: partitions, leaders, replicas and in-sync replicas of the target's topics.

Reads topic metadata only: which brokers lead how much, and which partitions are offline or
under-replicated. Configured topics are asked about one by one, so a missing one is named.
"""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka.admin import AdminClient
from rest_framework import serializers

from .. import registry
from ..base import Probe, ProbeResult, Status, Table
from .clients import Deadline, client_config, fetch_metadata, is_internal, topic_problem
from .results import MAX_ROWS, bounded, count_check

MAX_CHECKED_TOPICS = 50  # configured topics one topics run asks about (one request each)
NO_LEADER = -1


@dataclass
class PartitionState:
    topic: str
    partition: int
    leader: int
    replicas: list[int]
    isr: list[int]
    state: str  # "ok" | "under-replicated" | "offline"
    reason: str = ""


def partition_state(leader: int, replicas: list[int], isr: list[int], live: set[int]):
    """(state, reason) of one partition, given the brokers present in the metadata."""
    if leader == NO_LEADER:
        return "offline", "no leader"
    if leader not in live:
        return "offline", f"leader {leader} is not a live broker"
    lagging = [broker for broker in replicas if broker not in isr or broker not in live]
    if lagging:
        return "under-replicated", "replicas not in sync: " + ", ".join(map(str, lagging))
    return "ok", ""


class TopicsParams(serializers.Serializer):
    topics = serializers.ListField(
        child=serializers.CharField(max_length=249),
        required=False,
        max_length=MAX_CHECKED_TOPICS,
        help_text="Topics to look at instead of the target's configured topics.",
    )
    max_topics = serializers.IntegerField(
        min_value=1,
        max_value=1000,
        default=100,
        help_text="Without configured topics: how many non-internal topics (by name) to show.",
    )


@registry.register
class TopicsProbe(Probe):
    name = "kafka.topics"
    kind = "kafka"
    title = "Kafka topics and partitions"
    description = (
        "Partitions, leaders, replicas and in-sync replicas of the configured topics (or all "
        "non-internal ones); leaders per broker; offline partitions (critical), under-replicated "
        "partitions and brokers down (warning), topics that do not exist (critical)."
    )
    params_class = TopicsParams
    health = True

    def run(self, target, params: dict, timeout_s: float) -> ProbeResult:
        config = target.config
        deadline = Deadline(timeout_s * 0.9)
        # AdminClient has no close(): its handle is destroyed with this frame's reference.
        admin = AdminClient(client_config(config, timeout_s))
        wanted = params.get("topics") or config["topics"]
        warnings: list[str] = []
        if wanted:
            brokers, topics, errors = self._configured(admin, config, wanted, deadline, warnings)
        else:
            metadata = fetch_metadata(admin, config, deadline)
            names = sorted(name for name in metadata.topics if not is_internal(name))
            brokers, errors = metadata.brokers, {}
            topics = {name: metadata.topics[name] for name in names[: params["max_topics"]]}
            if len(names) > len(topics):
                warnings.append(f"showing {len(topics)} of {len(names)} topics")
        return self._report(brokers, topics, errors, warnings)

    def _configured(self, admin, config, wanted, deadline, warnings):
        """Metadata per configured topic, asked one by one so a missing topic is named."""
        brokers, topics, errors = {}, {}, {}
        if len(wanted) > MAX_CHECKED_TOPICS:
            warnings.append(f"looked at the first {MAX_CHECKED_TOPICS} of {len(wanted)} topics")
        for index, name in enumerate(wanted[:MAX_CHECKED_TOPICS]):
            if index and deadline.expired():
                warnings.append("out of time; not checked: " + ", ".join(wanted[index:]))
                break
            metadata = fetch_metadata(admin, config, deadline, topic=name)
            brokers = metadata.brokers
            topic = metadata.topics.get(name)
            if topic is None or topic.error is not None:
                errors[name] = topic.error if topic is not None else None
            else:
                topics[name] = topic
        return brokers, topics, errors

    def _report(self, brokers, topics, errors, warnings) -> ProbeResult:
        live = set(brokers)
        states = [
            PartitionState(name, p.id, p.leader, list(p.replicas), list(p.isrs), "")
            for name, topic in sorted(topics.items())
            for p in sorted(topic.partitions.values(), key=lambda p: p.id)
        ]
        for row in states:
            row.state, row.reason = partition_state(row.leader, row.replicas, row.isr, live)
        offline = [row for row in states if row.state == "offline"]
        under = [row for row in states if row.state == "under-replicated"]
        down = sorted({b for row in states for b in row.replicas if b not in live})
        problems = [topic_problem(name, error) for name, error in sorted(errors.items())]

        checks = [
            count_check(
                "offline_partitions",
                "Offline partitions (no live leader)",
                len(offline),
                Status.CRITICAL,
            ),
            count_check(
                "under_replicated_partitions",
                "Under-replicated partitions (ISR < replicas)",
                len(under),
                Status.WARNING,
            ),
            count_check(
                "brokers_down",
                "Brokers holding replicas but missing from the metadata",
                len(down),
                Status.WARNING,
            ),
        ]
        if errors:
            checks.append(
                count_check(
                    "missing_topics",
                    "Configured topics missing or unreadable",
                    len(errors),
                    Status.CRITICAL,
                )
            )
        return ProbeResult.from_checks(
            self._summary(topics, states, brokers, offline, under, down, problems),
            checks,
            tables=[
                self._topics_table(topics, states, errors, problems),
                self._partitions_table(states),
                self._brokers_table(brokers, states, down),
            ],
            warnings=warnings,
            raw={
                "brokers": sorted(live),
                "brokers_down": down,
                "topics": len(topics),
                "partitions": len(states),
                "offline": [[row.topic, row.partition] for row in offline][:MAX_ROWS],
                "under_replicated": [[row.topic, row.partition] for row in under][:MAX_ROWS],
                "topic_errors": dict(zip(sorted(errors), problems, strict=True)),
            },
        )

    @staticmethod
    def _summary(topics, states, brokers, offline, under, down, problems) -> str:
        parts = [f"{len(topics)} topics, {len(states)} partitions on {len(brokers)} brokers"]
        if offline:
            parts.append(f"{len(offline)} offline")
        if under:
            parts.append(f"{len(under)} under-replicated")
        if down:
            parts.append("brokers down: " + ", ".join(map(str, down)))
        parts.extend(problems)
        return "; ".join(parts)

    @staticmethod
    def _topics_table(topics, states, errors, problems) -> Table:
        table = Table(
            "topics",
            "Topics",
            ["topic", "partitions", "replication factor", "under-replicated", "offline", "problem"],
            key=("topic",),
        )
        for name, problem in zip(sorted(errors), problems, strict=True):
            table.add(name, None, None, None, None, problem)
        for name in sorted(topics):
            rows = [row for row in states if row.topic == name]
            replication = max((len(row.replicas) for row in rows), default=0)
            counts = {
                state: sum(row.state == state for row in rows)
                for state in ("under-replicated", "offline")
            }
            table.add(
                name, len(rows), replication, counts["under-replicated"], counts["offline"], ""
            )
        return bounded(table)

    @staticmethod
    def _partitions_table(states: list[PartitionState]) -> Table:
        table = Table(
            "partitions",
            "Partitions (problems first)",
            ["topic", "partition", "leader", "replicas", "isr", "state", "reason"],
            key=("topic", "partition"),
        )
        order = {"offline": 0, "under-replicated": 1, "ok": 2}
        for row in sorted(states, key=lambda row: (order[row.state], row.topic, row.partition)):
            table.add(
                row.topic, row.partition, row.leader, row.replicas, row.isr, row.state, row.reason
            )
        return bounded(table)

    @staticmethod
    def _brokers_table(brokers, states, down) -> Table:
        table = Table(
            "brokers",
            "Leaders and replicas per broker",
            ["broker", "address", "leaders", "replicas", "state"],
            key=("broker",),
        )
        for broker_id in sorted(set(brokers) | set(down)):
            broker = brokers.get(broker_id)
            address = f"{broker.host}:{broker.port}" if broker is not None else ""
            leaders = sum(row.leader == broker_id for row in states)
            replicas = sum(broker_id in row.replicas for row in states)
            state = "up" if broker is not None else "down (not in metadata)"
            table.add(broker_id, address, leaders, replicas, state)
        return bounded(table)
