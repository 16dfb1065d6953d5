"""`kafka.consumer_lag`: per-partition lag of consumer groups, totalled per group and topic.

Lag is computed the way `kafka-consumer-groups --describe` does — high watermark minus
committed offset, per partition — from two reads every broker answers: the group's committed
offsets (a Consumer carrying the group's `group.id` that never subscribes, so it never joins
the group or triggers a rebalance, and never commits) and the partition watermarks. Group
state and members (`describe_consumer_groups`) are extra detail: brokers that cannot describe
groups (librdkafka's mock cluster, some proxies) still get a lag answer.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import asdict, astuple, dataclass

from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient
from rest_framework import serializers

from .. import registry
from ..base import Check, Probe, ProbeResult, ProbeUnreachable, Status, Table
from .clients import (
    Deadline,
    client_config,
    error_text,
    fetch_metadata,
    group_consumer,
    is_internal,
    topic_problem,
)
from .results import bounded, count_check

MAX_PARTITIONS = 1000  # partitions whose offsets one lag run reads (one request each)


@dataclass
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int | None  # None: the group has no commit on this partition
    low: int | None = None
    high: int | None = None
    lag: int | None = None
    note: str = ""


def partition_lag(committed: int | None, low: int, high: int) -> tuple[int, str]:
    """(lag, note) of one partition, as kafka-consumer-groups computes it."""
    if committed is None:
        # Where the group would start is its auto.offset.reset, which we cannot see: count
        # everything still retained, the worst case, and flag it.
        return high - low, "no commit"
    if committed > high:
        return 0, "commit ahead of the high watermark (topic recreated?)"
    if committed < low:
        return high - committed, "commit below the low watermark (messages expired unread)"
    return high - committed, ""


@dataclass
class TopicLag:
    group: str
    topic: str
    partitions: int
    total_lag: int
    max_partition_lag: int
    without_commit: int


def topic_totals(rows: list[PartitionLag]) -> list[TopicLag]:
    totals: dict[tuple[str, str], list[PartitionLag]] = {}
    for row in rows:
        totals.setdefault((row.group, row.topic), []).append(row)
    return [
        TopicLag(
            group,
            topic,
            len(members),
            sum(row.lag or 0 for row in members),
            max((row.lag or 0 for row in members), default=0),
            sum(row.committed is None for row in members),
        )
        for (group, topic), members in totals.items()
    ]


class ConsumerLagParams(serializers.Serializer):
    groups = serializers.ListField(
        child=serializers.CharField(max_length=255),
        required=False,
        max_length=200,
        help_text="Consumer groups to check instead of the target's configured groups.",
    )
    lag_warning = serializers.IntegerField(
        min_value=0,
        required=False,
        help_text="Total lag of a group on a topic that warns (default: the target's lag_warning).",
    )
    lag_critical = serializers.IntegerField(
        min_value=0,
        required=False,
        help_text="Total lag of a group on a topic that is critical (default: 10 × lag_warning).",
    )

    def validate(self, attrs):
        warning, critical = attrs.get("lag_warning"), attrs.get("lag_critical")
        if warning is not None and critical is not None and critical < warning:
            raise serializers.ValidationError({"lag_critical": ["Must be ≥ lag_warning."]})
        return attrs


@registry.register
class ConsumerLagProbe(Probe):
    name = "kafka.consumer_lag"
    kind = "kafka"
    title = "Kafka consumer lag"
    description = (
        "Per partition: committed offset, low/high watermark and lag (high − committed) of each "
        "consumer group on the topics it commits to; totals per group and topic against the lag "
        "thresholds; partitions without a commit (warning); group state and members where the "
        "broker can describe groups."
    )
    params_class = ConsumerLagParams
    health = True

    def run(self, target, params: dict, timeout_s: float) -> ProbeResult:
        config = target.config
        groups = params.get("groups") or config["consumer_groups"]
        if not groups:
            return ProbeResult(
                status=Status.OK,
                summary="no consumer groups configured",
                warnings=["this target has no consumer_groups; give some in its config or params"],
            )
        warning = params.get("lag_warning", config["lag_warning"])
        # Without a warning threshold (0: any lag warns) there is no default critical one.
        critical = params.get("lag_critical", warning * 10 if warning else None)
        deadline = Deadline(timeout_s * 0.9)
        settings = client_config(config, timeout_s)
        # AdminClient has no close(): its handle is destroyed with this frame's reference.
        admin = AdminClient(settings)
        metadata = fetch_metadata(admin, config, deadline)
        scan = LagScan(admin, settings, metadata, config["topics"], deadline)
        for group in groups:
            scan.read_group(group)
        descriptions = scan.describe_groups(groups)
        return lag_report(scan, descriptions, groups, warning, critical)


class LagScan:
    """Reads the committed offsets and watermarks of one group after another."""

    def __init__(self, admin, settings, metadata, topics, deadline):
        self.admin, self.settings, self.metadata = admin, settings, metadata
        self.topics, self.deadline = topics, deadline
        self.rows: list[PartitionLag] = []
        self.warnings: list[str] = []
        self.failed: dict[str, str] = {}  # group → why its offsets could not be read
        self.discovery: dict[str, str] = {}
        self.budget = MAX_PARTITIONS

    def read_group(self, group: str) -> None:
        if self.deadline.expired() or self.budget <= 0:
            self.failed[group] = "not checked: time or partition budget used up"
            return
        try:
            with closing(group_consumer(self.settings, group)) as consumer:
                committed = self._committed(consumer, group)
                consumed = sorted({tp.topic for tp in committed if tp.offset >= 0})
                if not consumed:
                    self.warnings.append(f"group {group} has no committed offsets on these topics")
                for tp in committed:
                    if tp.topic in consumed:
                        self.rows.append(self._row(consumer, group, tp))
        except KafkaException as exc:
            self.failed[group] = error_text(exc)

    def _committed(self, consumer: Consumer, group: str) -> list[TopicPartition]:
        """Committed offsets of every partition of the topics the group may consume."""
        if self.topics:
            names = [name for name in self.topics if self._exists(name)]
            self.discovery[group] = "configured topics"
        else:
            names = self._group_topics(group)
        partitions = [
            TopicPartition(name, partition)
            for name in names
            for partition in sorted(self.metadata.topics[name].partitions)
        ]
        if len(partitions) > self.budget:
            self.warnings.append(
                f"group {group}: looked at {self.budget} of {len(partitions)} partitions"
            )
            partitions = partitions[: self.budget]
        self.budget -= len(partitions)
        if not partitions:
            return []
        return consumer.committed(partitions, timeout=self.deadline.left())

    def _exists(self, name: str) -> bool:
        topic = self.metadata.topics.get(name)
        if topic is None or topic.error is not None:
            message = topic_problem(name, topic.error if topic is not None else None)
            if message not in self.warnings:
                self.warnings.append(message)
            return False
        return True

    def _group_topics(self, group: str) -> list[str]:
        """The topics a group has committed offsets on, when none are configured."""
        try:
            future = self.admin.list_consumer_group_offsets(
                [ConsumerGroupTopicPartitions(group)], request_timeout=self.deadline.left()
            )[group]
            listed = future.result(timeout=self.deadline.left()).topic_partitions or []
        except (KafkaException, TimeoutError) as exc:
            self.warnings.append(f"group {group}: listing its offsets failed: {error_text(exc)}")
            listed = []
        names = sorted({tp.topic for tp in listed if tp.offset >= 0} & set(self.metadata.topics))
        if names:
            self.discovery[group] = "group offsets"
            return names
        # Some brokers (librdkafka's mock among them) answer an offset listing without named
        # partitions with nothing: ask about every non-internal topic's partitions instead.
        self.discovery[group] = "all topics scanned"
        return sorted(name for name in self.metadata.topics if not is_internal(name))

    def _row(self, consumer: Consumer, group: str, tp: TopicPartition) -> PartitionLag:
        committed = tp.offset if tp.offset >= 0 else None
        row = PartitionLag(group, tp.topic, tp.partition, committed)
        if tp.error is not None:
            row.note = f"committed offset unreadable: {tp.error.str()}"
            return row
        if self.deadline.expired():
            row.note = "not checked: out of time"
            return row
        try:
            row.low, row.high = consumer.get_watermark_offsets(
                TopicPartition(tp.topic, tp.partition), timeout=self.deadline.left(), cached=False
            )
        except KafkaException as exc:
            row.note = f"watermarks unavailable: {error_text(exc)}"
            return row
        row.lag, row.note = partition_lag(committed, row.low, row.high)
        return row

    def describe_groups(self, groups: list[str]) -> dict:
        """State and members per group, where the broker can describe groups (optional)."""
        if self.deadline.expired():
            return {}
        try:
            futures = self.admin.describe_consumer_groups(
                list(groups), request_timeout=self.deadline.left()
            )
        except KafkaException as exc:
            self.warnings.append(f"group description failed: {error_text(exc)}")
            return {}
        descriptions = {}
        for group, future in futures.items():
            try:
                descriptions[group] = future.result(timeout=self.deadline.left())
            except KafkaException as exc:
                error = exc.args[0] if exc.args else None
                if (
                    isinstance(error, KafkaError)
                    and error.code() == KafkaError._UNSUPPORTED_FEATURE
                ):
                    self.warnings.append("group description not supported by this broker")
                    return {}
                self.warnings.append(f"group {group}: description failed: {error_text(exc)}")
            except TimeoutError:
                self.warnings.append(f"group {group}: description timed out")
        return descriptions


def lag_report(scan: LagScan, descriptions: dict, groups, warning: int, critical: int | None):
    totals = topic_totals(scan.rows)
    threshold = f"warning ≥ {warning}" + (
        f", critical ≥ {critical}" if critical is not None else ""
    )
    checks = []
    for total in totals:
        where = f"{total.group}.{total.topic}"
        checks.append(
            Check(
                f"lag.{where}",
                f"Lag of {total.group} on {total.topic}",
                total.total_lag,
                lag_status(total.total_lag, warning, critical),
                threshold,
                "messages",
            )
        )
        checks.append(
            count_check(
                f"without_commit.{where}",
                f"Partitions of {total.topic} without a commit by {total.group}",
                total.without_commit,
                Status.WARNING,
            )
        )
    consuming = {total.group for total in totals}
    for group in groups:
        if group not in consuming and group not in scan.failed:
            # A configured group without any commit: never consumed, or a misspelt group.id.
            checks.append(
                Check(
                    f"commits.{group}",
                    f"Topics with commits by {group}",
                    0,
                    Status.WARNING,
                    "warning when none",
                )
            )
    for group, reason in scan.failed.items():
        checks.append(
            Check(f"offsets.{group}", f"Committed offsets of {group}", None, Status.ERROR, reason)
        )
    if len(scan.failed) == len(groups):
        raise ProbeUnreachable(
            "could not read committed offsets: " + next(iter(scan.failed.values()))
        )
    warnings = list(scan.warnings) + idle_group_warnings(descriptions, totals)
    return ProbeResult.from_checks(
        lag_summary(groups, totals, scan.failed),
        checks,
        tables=[totals_table(totals), partitions_table(scan.rows), groups_table(descriptions)],
        warnings=warnings,
        raw={
            "thresholds": {"lag_warning": warning, "lag_critical": critical},
            "discovery": scan.discovery,
            "groups": {
                group: {total.topic: asdict(total) for total in totals if total.group == group}
                for group in groups
            },
        },
    )


def lag_status(total: int, warning: int, critical: int | None) -> str:
    # A threshold of 0 means "any lag": no lag at all is never a finding.
    if total <= 0:
        return Status.OK
    if critical is not None and total >= critical:
        return Status.CRITICAL
    return Status.WARNING if total >= warning else Status.OK


def lag_summary(groups, totals: list[TopicLag], failed: dict) -> str:
    parts = []
    for group in groups:
        mine = [total for total in totals if total.group == group]
        if group in failed:
            parts.append(f"{group}: offsets unreadable")
        elif not mine:
            parts.append(f"{group}: no commits")
        else:
            lag = sum(total.total_lag for total in mine)
            missing = sum(total.without_commit for total in mine)
            text = f"{group}: lag {lag}"
            parts.append(text + (f" ({missing} partitions without commit)" if missing else ""))
    extra = f"; +{len(parts) - 3} more groups" if len(parts) > 3 else ""
    return "; ".join(parts[:3]) + extra


def idle_group_warnings(descriptions: dict, totals: list[TopicLag]) -> list[str]:
    lag_by_group: dict[str, int] = {}
    for total in totals:
        lag_by_group[total.group] = lag_by_group.get(total.group, 0) + total.total_lag
    warnings = []
    for group, description in descriptions.items():
        if not description.members and lag_by_group.get(group, 0) > 0:
            warnings.append(f"group {group} has no active members and lag {lag_by_group[group]}")
    return warnings


def totals_table(totals: list[TopicLag]) -> Table:
    table = Table(
        "topic_lag",
        "Lag per group and topic",
        ["group", "topic", "partitions", "total lag", "max partition lag", "without commit"],
        key=("group", "topic"),
    )
    for total in sorted(totals, key=lambda total: (-total.total_lag, total.group, total.topic)):
        table.add(*astuple(total))
    return bounded(table)


def partitions_table(rows: list[PartitionLag]) -> Table:
    table = Table(
        "partition_lag",
        "Lag per partition (largest first)",
        ["group", "topic", "partition", "committed", "low", "high", "lag", "note"],
        key=("group", "topic", "partition"),
    )
    for row in sorted(rows, key=lambda row: (-(row.lag or 0), row.group, row.topic, row.partition)):
        committed = row.committed if row.committed is not None else "no commit"
        table.add(
            row.group, row.topic, row.partition, committed, row.low, row.high, row.lag, row.note
        )
    return bounded(table)


def groups_table(descriptions: dict) -> Table:
    table = Table(
        "groups", "Group state", ["group", "state", "members", "coordinator"], key=("group",)
    )
    for group, description in sorted(descriptions.items()):
        state = getattr(description.state, "name", str(description.state))
        coordinator = description.coordinator.id if description.coordinator else None
        table.add(group, state, len(description.members), coordinator)
    return table
