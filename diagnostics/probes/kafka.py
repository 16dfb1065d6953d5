"""Kafka probes: consumer-group lag and topic/partition health, read-only.

`kafka.consumer_lag` computes lag the way `kafka-consumer-groups --describe` does — high
watermark minus committed offset, per partition — from two reads every broker answers: the
group's committed offsets (a Consumer carrying the group's `group.id` that never subscribes, so
it never joins the group or triggers a rebalance, and never commits) and the partition
watermarks. Group state and members (`describe_consumer_groups`) are extra detail: brokers that
cannot describe groups (librdkafka's mock cluster, some proxies) still get a lag answer.

`kafka.topics` reads topic metadata: leaders, replicas and in-sync replicas per partition,
which brokers lead how much, and what is offline, under-replicated or missing.

Both keep to the probe rules: every call is bounded by the run's deadline, clients are closed
on every path, metadata requests never auto-create a topic (`allow.auto.create.topics=false`:
asking about a typo must not create it), and SASL secrets come from the environment and never
reach a result.
"""

from __future__ import annotations

import logging
import time
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

from . import registry
from .base import Check, Probe, ProbeResult, ProbeUnreachable, Status, Table, secret_from_env

# librdkafka logs connection failures to stderr by default; route them into Python logging.
LOGGER = logging.getLogger(__name__)

CLIENT_ID = "ops-portal-diagnostics"
MAX_ROWS = 200  # rows per table
MAX_PARTITIONS = 1000  # partitions whose offsets one lag run reads (one request each)
MAX_CHECKED_TOPICS = 50  # configured topics one topics run asks about (one request each)
NO_LEADER = -1
UNREACHABLE_CODES = {
    KafkaError._TRANSPORT,
    KafkaError._TIMED_OUT,
    KafkaError._ALL_BROKERS_DOWN,
    KafkaError._RESOLVE,
}
AUTH_CODES = {
    KafkaError._AUTHENTICATION,
    KafkaError.SASL_AUTHENTICATION_FAILED,
    KafkaError._SSL,
}


class Deadline:
    """What is left of a run's time budget, for each client call's timeout."""

    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return max(0.1, self.end - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self.end


# --- clients ------------------------------------------------------------------------------------


def client_config(config: dict, timeout_s: float) -> dict:
    """confluent-kafka settings shared by the admin client and the consumers."""
    timeout_ms = max(1000, int(timeout_s * 1000))
    settings = {
        "bootstrap.servers": ",".join(config["bootstrap_servers"]),
        "client.id": CLIENT_ID,
        "security.protocol": config["security_protocol"],
        "socket.timeout.ms": timeout_ms,
        "socket.connection.setup.timeout.ms": timeout_ms,
        # Keep retrying a refused connection often enough to notice a broker coming back
        # within one run, without hammering it.
        "reconnect.backoff.max.ms": 1000,
        "allow.auto.create.topics": False,
        "logger": LOGGER,
    }
    if config["security_protocol"].startswith("SASL_"):
        settings["sasl.mechanism"] = config["sasl_mechanism"]
        settings["sasl.username"] = secret_from_env(config, "sasl_username_env")
        settings["sasl.password"] = secret_from_env(config, "sasl_password_env")
    return settings


def group_consumer(settings: dict, group: str) -> Consumer:
    """A consumer that only reads the group's committed offsets and the watermarks."""
    return Consumer(
        {
            **settings,
            "group.id": group,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
        }
    )


def unreachable(exc: KafkaException, config: dict) -> ProbeUnreachable:
    """A short, secret-free explanation of a failed cluster-wide call."""
    where = ",".join(config["bootstrap_servers"])
    error = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
    code = error.code() if error is not None else None
    if code in UNREACHABLE_CODES:
        return ProbeUnreachable(f"no broker reachable at {where}")
    if code in AUTH_CODES:
        return ProbeUnreachable(f"authentication with the brokers at {where} failed")
    return ProbeUnreachable(f"kafka error at {where}: {error.str() if error else exc}")


def error_text(exc: Exception) -> str:
    error = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
    return error.str() if error is not None else str(exc)


def fetch_metadata(admin: AdminClient, config: dict, deadline: Deadline, topic: str | None = None):
    try:
        return admin.list_topics(topic=topic, timeout=deadline.left())
    except KafkaException as exc:
        raise unreachable(exc, config) from exc


def topic_problem(name: str, error: KafkaError | None) -> str:
    """What is wrong with a topic the metadata answered with an error for (or left out)."""
    if error is None or error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
        return f"topic {name} does not exist"
    return f"topic {name}: {error.str()}"


def is_internal(topic: str) -> bool:
    # __consumer_offsets, __transaction_state, _schemas-style bookkeeping topics.
    return topic.startswith("_")


# --- kafka.topics -------------------------------------------------------------------------------


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


def count_check(name: str, label: str, count: int, status: str) -> Check:
    """A count of findings of which a single one already means `status`."""
    return Check(name, label, count, status if count else Status.OK, f"{status} ≥ 1")


def bounded(table: Table) -> Table:
    if len(table.rows) > MAX_ROWS:
        table.total_rows = len(table.rows)
        table.rows = table.rows[:MAX_ROWS]
    return table


# --- kafka.consumer_lag ----------------------------------------------------------------------


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
