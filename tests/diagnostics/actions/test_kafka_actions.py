"""`kafka.reset_offsets` against librdkafka's mock cluster (real Kafka protocol over loopback).

The module's cluster holds known data, so every offset below is exact:

    orders   3 partitions, RF 3   messages 10 / 20 / 5; records of p2 below offset 3 deleted
             (watermarks: p0 0..10, p1 0..20, p2 3..5)
    payments 2 partitions, RF 3   messages 4 / 6

Each test seeds its own consumer group with `alter_consumer_group_offsets` (the mock accepts
it for a group that never had members) and reads offsets back with an independent client
(`Consumer.committed()`, a consumer that never subscribes). What the mock cannot do and the
tests therefore do not reach: describe groups (the preview then warns that membership was not
checked; the described-members refusal is tested on a ConsumerGroupDescription built by hand),
and look offsets up by timestamp (it answers -1 for every time, which Kafka answers when no
message is at or after the time).
"""

from __future__ import annotations

import json
import socket
import threading
from contextlib import contextmanager

import pytest
from confluent_kafka import (
    Consumer,
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    Node,
    TopicPartition,
)
from confluent_kafka.admin import (
    AdminClient,
    ConsumerGroupDescription,
    MemberAssignment,
    MemberDescription,
)
from rest_framework import serializers

from catalog.models import Target
from catalog.target_configs import validate_target_config
from diagnostics import redaction
from diagnostics.actions import load_action_modules, registry
from diagnostics.actions.base import ActionRefused
from diagnostics.actions.kafka import membership, timestamp_offset
from diagnostics.probes.base import ProbeUnreachable
from diagnostics.runner import run_probe
from tests.diagnostics.peers.kafka_mock import MockKafkaCluster

load_action_modules()
RESET = registry.get("kafka.reset_offsets")
NOT_CHECKED = (
    "could not check whether group {} has active members (this broker cannot describe "
    "groups); if it has, Kafka refuses the reset and nothing changes"
)


@pytest.fixture(scope="module")
def cluster():
    with MockKafkaCluster(brokers=3) as mock:
        mock.create_topic("orders", partitions=3, replication_factor=3)
        mock.create_topic("payments", partitions=2, replication_factor=3)
        mock.produce("orders", {0: 10, 1: 20, 2: 5})
        mock.produce("payments", {0: 4, 1: 6})
        mock.delete_records_below("orders", 2, 3)
        yield mock


def kafka_target(cluster, **config) -> Target:
    config = validate_target_config(
        "kafka", {"bootstrap_servers": cluster.bootstrap_servers, **config}
    )
    return Target(kind="kafka", name="events", config=config)


def seed(cluster, group: str, topic: str, offsets: dict[int, int]) -> None:
    """Commit offsets for a group that has no members (as an operator's tool would)."""
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    request = ConsumerGroupTopicPartitions(
        group, [TopicPartition(topic, p, o) for p, o in offsets.items()]
    )
    answer = admin.alter_consumer_group_offsets([request], request_timeout=10)[group]
    assert [tp.error for tp in answer.result(timeout=10).topic_partitions] == [None] * len(offsets)


def committed(cluster, group: str, topic: str, partitions=(0, 1, 2)) -> dict[int, int | None]:
    """The group's committed offsets, read by a consumer that never joins the group."""
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": group})
    try:
        found = consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
    finally:
        consumer.close()
    return {tp.partition: tp.offset if tp.offset >= 0 else None for tp in found}


def preview(target, params: dict, timeout_s: float = 15):
    return RESET.preview(target, RESET.validate_params(params), timeout_s)


def stored(preview_or_params):
    """What the service stores and hands back: cleaned, through JSON."""
    data = (
        preview_or_params.as_dict() if hasattr(preview_or_params, "as_dict") else preview_or_params
    )
    return json.loads(json.dumps(redaction.clean(data)))


def execute(target, params: dict, shown, timeout_s: float = 15):
    return RESET.execute(target, stored(RESET.validate_params(params)), stored(shown), timeout_s)


@contextmanager
def active_member(cluster, group: str, topic: str):
    """A consumer that joined `group`, got its assignment and keeps polling in a thread."""
    assigned, stop = threading.Event(), threading.Event()

    def consume():
        consumer = Consumer(
            {
                "bootstrap.servers": cluster.bootstrap,
                "group.id": group,
                "enable.auto.commit": False,
                "auto.offset.reset": "latest",
            }
        )
        consumer.subscribe([topic], on_assign=lambda _consumer, _parts: assigned.set())
        try:
            while not stop.is_set():
                consumer.poll(0.1)
        finally:
            consumer.close()

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    try:
        assert assigned.wait(20), "the member never got its assignment"
        yield
    finally:
        stop.set()
        thread.join(20)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- preview ------------------------------------------------------------------------------------


def test_preview_to_latest_shows_offsets_lag_and_skipped_messages_per_partition(cluster):
    seed(cluster, "billing", "orders", {0: 7, 1: 20})  # p2 never committed
    target = kafka_target(cluster, consumer_groups=["billing", "shipping"])

    shown = preview(target, {"group": "billing", "topic": "orders", "to": "latest"})

    assert shown.details["partitions"] == [
        {"partition": 0, "committed": 7, "new": 10, "low": 0, "high": 10,
         "lag_before": 3, "lag_after": 0, "skipped": 3, "replayed": 0, "note": ""},
        {"partition": 1, "committed": 20, "new": 20, "low": 0, "high": 20,
         "lag_before": 0, "lag_after": 0, "skipped": 0, "replayed": 0, "note": ""},
        {"partition": 2, "committed": None, "new": 5, "low": 3, "high": 5,
         "lag_before": 2, "lag_after": 0, "skipped": None, "replayed": None,
         "note": "no commit before: the group started where its auto.offset.reset says"},
    ]  # fmt: skip
    assert shown.details["totals"] == {
        "partitions": 3, "skipped": 3, "replayed": 0, "without_commit": 1,
        "lag_before": 5, "lag_after": 0,
    }  # fmt: skip
    assert shown.details["request"] == {
        "call": "AdminClient.alter_consumer_group_offsets",
        "group": "billing",
        "offsets": [
            {"topic": "orders", "partition": 0, "offset": 10},
            {"topic": "orders", "partition": 1, "offset": 20},
            {"topic": "orders", "partition": 2, "offset": 5},
        ],
    }
    assert [(c.what, c.before, c.after) for c in shown.changes] == [
        ("committed offset of group billing on orders partition 0", 7, 10),
        ("committed offset of group billing on orders partition 1", 20, 20),
        ("committed offset of group billing on orders partition 2", "no commit", 5),
    ]
    assert (
        shown.summary == "Reset group billing on orders to latest: 3 partitions, skips 3 messages"
    )
    assert shown.warnings == [
        NOT_CHECKED.format("billing"),
        "skips 3 messages the group has not processed: it will never process them (data loss)",
        "1 partitions have no commit by group billing: what changes for them depends on the "
        "group's auto.offset.reset",
    ]
    assert shown.details["membership"] == "not checked: this broker cannot describe groups"
    assert shown.basis == {
        "group": "billing",
        "topic": "orders",
        "committed": {"0": 7, "1": 20, "2": None},
    }
    # The preview changed nothing.
    assert committed(cluster, "billing", "orders") == {0: 7, 1: 20, 2: None}


def test_preview_to_earliest_counts_replayed_messages_from_the_low_watermark(cluster):
    seed(cluster, "replayer", "orders", {0: 7, 1: 20, 2: 4})

    shown = preview(
        kafka_target(cluster), {"group": "replayer", "topic": "orders", "to": "earliest"}
    )

    assert [
        (r["partition"], r["committed"], r["new"], r["lag_before"], r["lag_after"], r["replayed"])
        for r in shown.details["partitions"]
    ] == [(0, 7, 0, 3, 10, 7), (1, 20, 0, 0, 20, 20), (2, 4, 3, 1, 2, 1)]
    assert shown.summary == (
        "Reset group replayer on orders to earliest: 3 partitions, replays 28 messages"
    )
    assert shown.warnings == [NOT_CHECKED.format("replayer")]
    assert committed(cluster, "replayer", "orders") == {0: 7, 1: 20, 2: 4}


def test_preview_basis_survives_storage_and_equals_a_fresh_previews_basis(cluster):
    seed(cluster, "steady", "payments", {0: 1, 1: 6})
    target = kafka_target(cluster)
    params = {"group": "steady", "topic": "payments", "to": "latest"}

    first, second = preview(target, params), preview(target, params)

    # What the service compares before executing: the stored basis against a fresh one.
    assert (
        stored(first)["basis"]
        == second.basis
        == {
            "group": "steady",
            "topic": "payments",
            "committed": {"0": 1, "1": 6},
        }
    )


def test_timestamp_reset_on_the_mock_goes_to_the_high_watermark_with_a_note(cluster):
    # The mock answers every timestamp lookup with -1, which Kafka answers when no message is
    # at or after the time; kafka-consumer-groups --to-datetime then uses the log end offset.
    seed(cluster, "timed", "payments", {0: 1, 1: 2})

    shown = preview(
        kafka_target(cluster),
        {"group": "timed", "topic": "payments", "to": "timestamp",
         "timestamp": "2031-01-02T03:04:05.678+02:00"},
    )  # fmt: skip

    assert shown.details["timestamp"] == "2031-01-02T01:04:05.678Z"
    assert [(r["partition"], r["committed"], r["new"], r["skipped"], r["note"])
            for r in shown.details["partitions"]] == [
        (0, 1, 4, 3, "no message at or after the timestamp: high watermark"),
        (1, 2, 6, 4, "no message at or after the timestamp: high watermark"),
    ]  # fmt: skip
    assert shown.summary == (
        "Reset group timed on payments to the first offsets at or after "
        "2031-01-02T01:04:05.678Z: 2 partitions, skips 7 messages"
    )


def test_timestamp_lookup_answers_map_like_kafka_consumer_groups():
    assert timestamp_offset(7, 1_700_000_000_000, 10) == (
        7,
        "first message at or after the timestamp (its time 1700000000000 ms)",
    )
    assert timestamp_offset(-1, -1, 10) == (
        10,
        "no message at or after the timestamp: high watermark",
    )


def test_partitions_param_limits_the_preview_and_the_reset(cluster):
    seed(cluster, "partial", "orders", {0: 1, 1: 2, 2: 3})
    target = kafka_target(cluster)
    params = {"group": "partial", "topic": "orders", "to": "latest", "partitions": [1]}

    shown = preview(target, params)
    result = execute(target, params, shown)

    assert [r["partition"] for r in shown.details["partitions"]] == [1]
    assert shown.basis["committed"] == {"1": 2}
    assert result.ok
    assert committed(cluster, "partial", "orders") == {0: 1, 1: 20, 2: 3}


# --- execute ------------------------------------------------------------------------------------


def test_execute_commits_the_previewed_offsets_reads_them_back_and_is_idempotent(cluster):
    seed(cluster, "resetme", "orders", {0: 7, 1: 20})
    target = kafka_target(cluster)
    params = {"group": "resetme", "topic": "orders", "to": "latest"}
    shown = preview(target, params)

    result = execute(target, params, shown)

    assert result.ok
    assert result.summary == (
        "group resetme on orders reset to latest: 2 of 3 partitions moved, "
        "read back at the requested offsets"
    )
    assert result.details == {
        "group": "resetme",
        "topic": "orders",
        "changed": True,
        "partitions": [
            {"partition": 0, "before": 7, "after": 10, "requested": 10, "error": ""},
            {"partition": 1, "before": 20, "after": 20, "requested": 20, "error": ""},
            {"partition": 2, "before": None, "after": 5, "requested": 5, "error": ""},
        ],
    }
    assert committed(cluster, "resetme", "orders") == {0: 10, 1: 20, 2: 5}

    again = execute(target, params, shown)

    assert again.ok
    assert again.summary == (
        "group resetme on orders is already at the requested offsets (latest); nothing changed"
    )
    assert again.details["changed"] is False
    assert committed(cluster, "resetme", "orders") == {0: 10, 1: 20, 2: 5}


def test_execute_resets_to_earliest_exactly(cluster):
    seed(cluster, "rewind", "orders", {0: 9, 1: 19, 2: 5})
    target = kafka_target(cluster)
    params = {"group": "rewind", "topic": "orders", "to": "earliest"}

    result = execute(target, params, preview(target, params))

    assert result.ok
    assert committed(cluster, "rewind", "orders") == {0: 0, 1: 0, 2: 3}


def test_execute_refuses_when_the_group_committed_since_the_preview(cluster):
    seed(cluster, "busy", "orders", {0: 2, 1: 2, 2: 3})
    target = kafka_target(cluster)
    params = {"group": "busy", "topic": "orders", "to": "latest"}
    shown = preview(target, params)
    seed(cluster, "busy", "orders", {0: 8})

    with pytest.raises(ActionRefused) as refused:
        execute(target, params, shown)

    assert str(refused.value) == "the group committed new offsets since the preview: preview again"
    assert committed(cluster, "busy", "orders") == {0: 8, 1: 2, 2: 3}


def test_execute_refuses_an_active_group_with_the_active_group_message(cluster):
    seed(cluster, "live", "payments", {0: 1, 1: 2})
    target = kafka_target(cluster)
    params = {"group": "live", "topic": "payments", "to": "earliest"}
    with active_member(cluster, "live", "payments"):
        # The mock cannot describe groups: the preview cannot see the member and says so.
        shown = preview(target, params)
        assert shown.warnings == [NOT_CHECKED.format("live")]

        with pytest.raises(ActionRefused) as refused:
            execute(target, params, shown)

        # The mock answers UNKNOWN_MEMBER_ID per partition, as Kafka does for a group with members.
        assert str(refused.value) == (
            "group live is active: Kafka refused the offset change (Broker: Unknown member); "
            "stop the group's consumers first (Kafka refuses offset changes for an active group)"
        )
        assert committed(cluster, "live", "payments", (0, 1)) == {0: 1, 1: 2}


def test_described_members_refuse_the_reset_and_an_empty_group_passes():
    member = MemberDescription("m-1", "billing-worker", "/10.0.0.7", MemberAssignment([]))
    coordinator = Node(2, "kafka-2", 9092)
    active = ConsumerGroupDescription(
        "billing", False, [member, member], "range", ConsumerGroupState.STABLE, coordinator
    )
    empty = ConsumerGroupDescription(
        "billing", False, [], "", ConsumerGroupState.EMPTY, coordinator
    )

    with pytest.raises(ActionRefused) as refused:
        membership("billing", active)

    assert str(refused.value) == (
        "group billing has 2 active members: stop the consumers first "
        "(Kafka refuses offset changes for an active group)"
    )
    assert membership("billing", empty) == "no active members (state EMPTY)"


# --- refusals and validation ---------------------------------------------------------------------


def test_unknown_topic_is_refused_and_not_created(cluster):
    target = kafka_target(cluster)

    with pytest.raises(ActionRefused) as refused:
        preview(target, {"group": "billing", "topic": "nope", "to": "latest"})

    assert str(refused.value) == "topic nope does not exist"
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    assert sorted(admin.list_topics(timeout=10).topics) == ["orders", "payments"]


def test_unknown_partition_is_refused(cluster):
    with pytest.raises(ActionRefused) as refused:
        preview(
            kafka_target(cluster),
            {"group": "billing", "topic": "orders", "to": "latest", "partitions": [1, 3, 7]},
        )

    assert str(refused.value) == "topic orders has no partition 3, 7 (it has 3: 0–2)"


def test_group_outside_the_targets_configured_groups_is_refused(cluster):
    seed(cluster, "other", "orders", {0: 1})
    target = kafka_target(cluster, consumer_groups=["billing", "shipping"])
    params = {"group": "other", "topic": "orders", "to": "latest"}

    with pytest.raises(ActionRefused) as refused:
        preview(target, params)

    assert str(refused.value) == (
        "group other is not one of this target's consumer groups (billing, shipping)"
    )
    # Execute checks again (the target's config may have changed since the preview).
    shown = preview(kafka_target(cluster), params)
    with pytest.raises(ActionRefused):
        execute(target, params, shown)
    assert committed(cluster, "other", "orders", (0,)) == {0: 1}


def test_params_are_validated():
    def errors(params):
        with pytest.raises(serializers.ValidationError) as invalid:
            RESET.validate_params(params)
        return {key: [str(m) for m in value] for key, value in invalid.value.detail.items()}

    assert errors({"topic": "orders", "to": "latest"}) == {"group": ["This field is required."]}
    assert errors({"group": "g", "topic": "bad topic!", "to": "latest"}) == {
        "topic": ["This value does not match the required pattern."]
    }
    assert errors({"group": "g", "topic": "orders", "to": "middle"}) == {
        "to": ['"middle" is not a valid choice.']
    }
    assert errors({"group": "g", "topic": "orders", "to": "timestamp"}) == {
        "timestamp": ["Required with to=timestamp."]
    }
    assert errors(
        {"group": "g", "topic": "orders", "to": "latest", "timestamp": "2030-01-01T00:00:00Z"}
    ) == {"timestamp": ["Only with to=timestamp."]}
    assert errors({"group": "g", "topic": "orders", "to": "latest", "partitions": [1, 1]}) == {
        "partitions": ["Partitions repeat."]
    }
    with pytest.raises(serializers.ValidationError) as negative:
        RESET.validate_params({"group": "g", "topic": "orders", "to": "latest", "partitions": [-1]})
    assert negative.value.detail == {
        "partitions": {0: ["Ensure this value is greater than or equal to 0."]}
    }
    assert RESET.validate_params(
        {"group": "g", "topic": "orders", "to": "timestamp",
         "timestamp": "2030-01-01T12:00:00", "partitions": [2, 0]}
    ) == {"group": "g", "topic": "orders", "to": "timestamp",
          "timestamp": "2030-01-01T12:00:00.000Z", "partitions": [0, 2]}  # fmt: skip


def test_unreachable_cluster_is_reported_without_acting():
    port = closed_port()
    target = Target(
        kind="kafka",
        name="events",
        config=validate_target_config("kafka", {"bootstrap_servers": [f"127.0.0.1:{port}"]}),
    )

    with pytest.raises(ProbeUnreachable) as unreachable:
        preview(target, {"group": "g", "topic": "orders", "to": "latest"}, timeout_s=2)

    assert str(unreachable.value) == f"no broker reachable at 127.0.0.1:{port}"


# --- registry and suggestions ----------------------------------------------------------------------


def test_action_is_registered_for_kafka_with_approval_on_high_severity():
    assert RESET.kind == "kafka"
    assert RESET.approval_on_high_severity is True
    assert RESET.suggested_by == ("kafka.consumer_lag",)
    assert RESET in registry.for_kind("kafka")


def test_suggest_skips_to_latest_for_groups_lagging_over_the_warning(cluster):
    seed(cluster, "laggard", "orders", {0: 2, 1: 10, 2: 3})  # lag 8 + 10 + 2 = 20
    seed(cluster, "nearly", "payments", {0: 4, 1: 5})  # lag 1: under the warning
    target = kafka_target(
        cluster, topics=["orders", "payments"], consumer_groups=["laggard", "nearly"], lag_warning=5
    )
    outcome = run_probe("kafka.consumer_lag", target, {}, 10)
    assert outcome.status == "warning", outcome.summary

    suggestions = RESET.suggest("kafka.consumer_lag", stored(outcome.result))

    assert [(s.action, s.label, s.params) for s in suggestions] == [
        (
            "kafka.reset_offsets",
            "Skip to latest for group laggard on topic orders (drops 20 messages — data loss: "
            "the group will never process them)",
            {"group": "laggard", "topic": "orders", "to": "latest"},
        )
    ]
    assert RESET.suggest("kafka.topics", stored(outcome.result)) == []
    # The suggestion's params preview as it says: 20 messages skipped.
    shown = preview(target, suggestions[0].params)
    assert shown.details["totals"]["skipped"] == 20
