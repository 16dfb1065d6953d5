"""Kafka probes against librdkafka's mock cluster (real Kafka protocol over loopback TCP).

The module's cluster holds known data, so every number below is exact:

    orders   3 partitions, RF 3   messages 10 / 20 / 5; records of p2 below offset 3 deleted
    payments 2 partitions, RF 3   messages 4 / 6
    billing  commits orders p0=7, p1=20 (p2 never committed)
    shipping commits orders at the end (10, 20, 5)
    fraud    commits payments p0=1, p1=6

Tests that break the cluster (brokers down, leaderless partitions) start their own.
"""

from __future__ import annotations

import socket

import pytest
from confluent_kafka import ConsumerGroupState, Node
from confluent_kafka.admin import (
    AdminClient,
    ConsumerGroupDescription,
    MemberAssignment,
    MemberDescription,
)
from rest_framework import serializers

from catalog.models import Target
from catalog.target_configs import validate_target_config
from diagnostics.probes import registry
from diagnostics.probes.base import ProbeConfigError, ProbeUnreachable
from diagnostics.probes.kafka import (
    TopicLag,
    client_config,
    groups_table,
    idle_group_warnings,
    partition_lag,
    partition_state,
)
from tests.diagnostics.peers.kafka_mock import MockKafkaCluster

LAG = registry.get("kafka.consumer_lag")
TOPICS = registry.get("kafka.topics")
NO_DESCRIPTION = "group description not supported by this broker"


@pytest.fixture(scope="module")
def cluster():
    with MockKafkaCluster(brokers=3) as mock:
        mock.create_topic("orders", partitions=3, replication_factor=3)
        mock.create_topic("payments", partitions=2, replication_factor=3)
        mock.produce("orders", {0: 10, 1: 20, 2: 5})
        mock.produce("payments", {0: 4, 1: 6})
        mock.delete_records_below("orders", 2, 3)
        mock.commit("billing", "orders", {0: 7, 1: 20})
        mock.commit("shipping", "orders", {0: 10, 1: 20, 2: 5})
        mock.commit("fraud", "payments", {0: 1, 1: 6})
        yield mock


def kafka_target(bootstrap_servers: list[str], **config) -> Target:
    config = validate_target_config("kafka", {"bootstrap_servers": bootstrap_servers, **config})
    return Target(kind="kafka", name="events", config=config)


def run(probe, target: Target, params: dict | None = None, timeout_s: float = 10):
    return probe.run(target, probe.validate_params(params or {}), timeout_s)


def table(result, name: str):
    return next(t for t in result.tables if t.name == name)


def rows_by_key(result, name: str) -> dict:
    found = table(result, name)
    positions = [found.columns.index(column) for column in found.key]
    return {
        tuple(row[i] for i in positions): dict(zip(found.columns, row, strict=True))
        for row in found.rows
    }


def checks(result) -> dict:
    return {check.name: (check.value, check.status) for check in result.checks}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- kafka.consumer_lag -------------------------------------------------------------------------


def test_lag_reports_committed_offset_watermarks_and_lag_per_partition(cluster):
    target = kafka_target(
        cluster.bootstrap_servers, topics=["orders", "payments"], consumer_groups=["billing"]
    )

    result = run(LAG, target)

    assert rows_by_key(result, "partition_lag") == {
        ("billing", "orders", 0): {
            "group": "billing", "topic": "orders", "partition": 0,
            "committed": 7, "low": 0, "high": 10, "lag": 3, "note": "",
        },
        ("billing", "orders", 1): {
            "group": "billing", "topic": "orders", "partition": 1,
            "committed": 20, "low": 0, "high": 20, "lag": 0, "note": "",
        },
        ("billing", "orders", 2): {
            "group": "billing", "topic": "orders", "partition": 2,
            "committed": "no commit", "low": 3, "high": 5, "lag": 2, "note": "no commit",
        },
    }  # fmt: skip
    # Largest lag first.
    assert [row[2] for row in table(result, "partition_lag").rows] == [0, 2, 1]
    assert table(result, "topic_lag").rows == [["billing", "orders", 3, 5, 3, 1]]
    assert result.raw["groups"] == {
        "billing": {
            "orders": {
                "group": "billing",
                "topic": "orders",
                "partitions": 3,
                "total_lag": 5,
                "max_partition_lag": 3,
                "without_commit": 1,
            }
        }
    }
    # billing commits nothing on payments, so payments is not one of its topics.
    assert checks(result) == {
        "lag.billing.orders": (5, "ok"),
        "without_commit.billing.orders": (1, "warning"),
    }
    assert result.status == "warning"
    assert result.summary == "billing: lag 5 (1 partitions without commit)"
    assert NO_DESCRIPTION in result.warnings
    assert table(result, "groups").rows == []


def test_fully_committed_group_has_no_lag_and_is_ok(cluster):
    target = kafka_target(
        cluster.bootstrap_servers, topics=["orders"], consumer_groups=["shipping"]
    )

    result = run(LAG, target)

    assert result.status == "ok"
    assert result.summary == "shipping: lag 0"
    assert table(result, "topic_lag").rows == [["shipping", "orders", 3, 0, 0, 0]]
    assert [row[3] for row in table(result, "partition_lag").rows] == [10, 20, 5]


@pytest.mark.parametrize(
    ("lag_warning", "params", "status", "threshold"),
    [
        (1000, {}, "ok", "warning ≥ 1000, critical ≥ 10000"),
        (3, {}, "warning", "warning ≥ 3, critical ≥ 30"),
        (4, {}, "ok", "warning ≥ 4, critical ≥ 40"),
        (1, {"lag_critical": 3}, "critical", "warning ≥ 1, critical ≥ 3"),
        (1, {"lag_critical": 4}, "warning", "warning ≥ 1, critical ≥ 4"),
        (1000, {"lag_warning": 3}, "warning", "warning ≥ 3, critical ≥ 30"),
        (0, {}, "warning", "warning ≥ 0"),
    ],
)
def test_total_lag_is_judged_against_the_lag_thresholds(
    cluster, lag_warning, params, status, threshold
):
    # fraud's lag is 3 (payments p0: 4 - 1), with a commit on every partition.
    target = kafka_target(
        cluster.bootstrap_servers,
        topics=["payments"],
        consumer_groups=["fraud"],
        lag_warning=lag_warning,
    )

    result = run(LAG, target, params)

    (lag_check,) = [check for check in result.checks if check.name == "lag.fraud.payments"]
    assert (lag_check.value, lag_check.status, lag_check.threshold) == (3, status, threshold)
    assert result.status == status


def test_zero_lag_is_ok_even_with_zero_thresholds(cluster):
    target = kafka_target(
        cluster.bootstrap_servers, topics=["orders"], consumer_groups=["shipping"], lag_warning=0
    )

    assert run(LAG, target).status == "ok"


def test_groups_param_overrides_the_configured_groups(cluster):
    target = kafka_target(
        cluster.bootstrap_servers, topics=["orders", "payments"], consumer_groups=["billing"]
    )

    result = run(LAG, target, {"groups": ["fraud", "shipping"]})

    assert set(result.raw["groups"]) == {"fraud", "shipping"}
    assert rows_by_key(result, "topic_lag").keys() == {
        ("fraud", "payments"),
        ("shipping", "orders"),
    }
    assert result.summary == "fraud: lag 3; shipping: lag 0"


def test_without_configured_topics_the_groups_topics_are_discovered(cluster):
    target = kafka_target(cluster.bootstrap_servers, consumer_groups=["fraud", "billing"])

    result = run(LAG, target)

    assert table(result, "topic_lag").rows == [
        ["billing", "orders", 3, 5, 3, 1],
        ["fraud", "payments", 2, 3, 3, 0],
    ]
    # The mock answers an unfiltered offset listing with nothing, so the probe falls back to
    # asking about every topic; a real broker lists the group's partitions directly.
    assert set(result.raw["discovery"].values()) <= {"group offsets", "all topics scanned"}


def test_a_configured_topic_that_does_not_exist_is_reported_not_created(cluster):
    target = kafka_target(
        cluster.bootstrap_servers, topics=["orders", "ghost"], consumer_groups=["billing"]
    )

    result = run(LAG, target)

    assert "topic ghost does not exist" in result.warnings
    assert rows_by_key(result, "topic_lag").keys() == {("billing", "orders")}
    assert (
        "ghost"
        not in AdminClient({"bootstrap.servers": cluster.bootstrap}).list_topics(timeout=5).topics
    )


def test_a_group_without_commits_is_a_warning(cluster):
    target = kafka_target(cluster.bootstrap_servers, topics=["orders"], consumer_groups=["nobody"])

    result = run(LAG, target)

    assert result.status == "warning"
    assert result.summary == "nobody: no commits"
    assert checks(result) == {"commits.nobody": (0, "warning")}
    assert "group nobody has no committed offsets on these topics" in result.warnings
    assert table(result, "partition_lag").rows == []


def test_without_consumer_groups_there_is_nothing_to_check(cluster):
    result = run(LAG, kafka_target(cluster.bootstrap_servers, topics=["orders"]))

    assert (result.status, result.summary) == ("ok", "no consumer groups configured")


def test_lag_critical_below_lag_warning_is_rejected():
    with pytest.raises(serializers.ValidationError) as excinfo:
        LAG.validate_params({"lag_warning": 10, "lag_critical": 5})

    assert "lag_critical" in excinfo.value.detail


def test_group_state_and_members_from_a_broker_that_describes_groups():
    # The mock cannot describe groups; these are the client's own result objects, shaped as a
    # real broker's answer arrives.
    member = MemberDescription("m-1", "billing-worker", "/10.0.0.7", MemberAssignment([]))
    descriptions = {
        "billing": ConsumerGroupDescription(
            "billing", False, [member], "range", ConsumerGroupState.STABLE, Node(2, "kafka-2", 9092)
        ),
        "fraud": ConsumerGroupDescription(
            "fraud", False, [], "", ConsumerGroupState.EMPTY, Node(1, "kafka-1", 9092)
        ),
    }
    totals = [TopicLag("billing", "orders", 3, 5, 3, 1), TopicLag("fraud", "payments", 2, 3, 3, 0)]

    assert groups_table(descriptions).rows == [
        ["billing", "STABLE", 1, 2],
        ["fraud", "EMPTY", 0, 1],
    ]
    assert idle_group_warnings(descriptions, totals) == [
        "group fraud has no active members and lag 3"
    ]


# --- kafka.topics ---------------------------------------------------------------------------------


def test_topics_reports_partitions_leaders_replicas_and_isr(cluster):
    result = run(TOPICS, kafka_target(cluster.bootstrap_servers, topics=["orders", "payments"]))

    assert result.status == "ok"
    assert result.summary == "2 topics, 5 partitions on 3 brokers"
    assert table(result, "topics").rows == [
        ["orders", 3, 3, 0, 0, ""],
        ["payments", 2, 3, 0, 0, ""],
    ]
    partitions = rows_by_key(result, "partitions")
    assert sorted(partitions) == [
        (t, p) for t, n in (("orders", 3), ("payments", 2)) for p in range(n)
    ]
    for row in partitions.values():
        assert (row["replicas"], row["isr"], row["state"]) == ([1, 2, 3], [1, 2, 3], "ok")
        assert row["leader"] in {1, 2, 3}
    brokers = rows_by_key(result, "brokers")
    assert sorted(brokers) == [(1,), (2,), (3,)]
    assert sum(row["leaders"] for row in brokers.values()) == 5
    assert [row["replicas"] for row in brokers.values()] == [5, 5, 5]
    assert {row["address"] for row in brokers.values()} == set(cluster.bootstrap_servers)
    assert checks(result) == {
        "offline_partitions": (0, "ok"),
        "under_replicated_partitions": (0, "ok"),
        "brokers_down": (0, "ok"),
    }


def test_topics_without_configured_topics_lists_the_non_internal_ones(cluster):
    result = run(TOPICS, kafka_target(cluster.bootstrap_servers), {"max_topics": 1})

    assert [row[0] for row in table(result, "topics").rows] == ["orders"]
    assert result.warnings == ["showing 1 of 2 topics"]


def test_topic_that_does_not_exist_is_critical_and_not_created(cluster):
    target = kafka_target(cluster.bootstrap_servers, topics=["orders", "ghost"])

    result = run(TOPICS, target)

    assert result.status == "critical"
    assert result.summary == "1 topics, 3 partitions on 3 brokers; topic ghost does not exist"
    assert rows_by_key(result, "topics")[("ghost",)]["problem"] == "topic ghost does not exist"
    assert checks(result)["missing_topics"] == (1, "critical")
    metadata = AdminClient({"bootstrap.servers": cluster.bootstrap}).list_topics(timeout=5)
    assert "ghost" not in metadata.topics


def test_broker_down_offline_and_under_replicated_partitions():
    with MockKafkaCluster(brokers=3) as broken:
        broken.create_topic("events", partitions=3, replication_factor=3)
        broken.create_topic("audit", partitions=1, replication_factor=3)
        for partition, leader in enumerate([1, 2, 3]):
            broken.set_leader("events", partition, leader)
        broken.set_leader("audit", 0, -1)
        broken.broker_down(3)
        target = kafka_target(broken.bootstrap_servers[:2], topics=["events", "audit"])

        result = run(TOPICS, target)

        assert result.status == "critical"
        assert result.summary == (
            "2 topics, 4 partitions on 2 brokers; 2 offline; 2 under-replicated; brokers down: 3"
        )
        assert checks(result) == {
            "offline_partitions": (2, "critical"),
            "under_replicated_partitions": (2, "warning"),
            "brokers_down": (1, "warning"),
        }
        assert [
            (row[0], row[1], row[2], row[5], row[6]) for row in table(result, "partitions").rows
        ] == [
            ("audit", 0, -1, "offline", "no leader"),
            ("events", 2, 3, "offline", "leader 3 is not a live broker"),
            ("events", 0, 1, "under-replicated", "replicas not in sync: 3"),
            ("events", 1, 2, "under-replicated", "replicas not in sync: 3"),
        ]
        brokers = rows_by_key(result, "brokers")
        assert [(b, r["leaders"], r["replicas"], r["state"]) for (b,), r in brokers.items()] == [
            (1, 1, 4, "up"),
            (2, 1, 4, "up"),
            (3, 1, 4, "down (not in metadata)"),
        ]
        assert result.raw["brokers_down"] == [3]

        broken.broker_up(3)
        recovered = run(TOPICS, target)

        assert checks(recovered)["brokers_down"] == (0, "ok")
        assert checks(recovered)["offline_partitions"] == (1, "critical")  # audit: no leader


@pytest.mark.parametrize(
    ("leader", "replicas", "isr", "live", "expected"),
    [
        (1, [1, 2, 3], [1, 2, 3], {1, 2, 3}, ("ok", "")),
        (1, [1, 2, 3], [1, 3], {1, 2, 3}, ("under-replicated", "replicas not in sync: 2")),
        (1, [1, 2], [1, 2], {1}, ("under-replicated", "replicas not in sync: 2")),
        (-1, [1, 2], [], {1, 2}, ("offline", "no leader")),
        (4, [4], [4], {1, 2}, ("offline", "leader 4 is not a live broker")),
    ],
)
def test_partition_state_from_leader_replicas_and_isr(leader, replicas, isr, live, expected):
    # The mock never shrinks an ISR by itself; this covers the ISR < replicas reading directly.
    assert partition_state(leader, replicas, isr, live) == expected


@pytest.mark.parametrize(
    ("committed", "low", "high", "expected"),
    [
        (7, 0, 10, (3, "")),
        (None, 3, 5, (2, "no commit")),
        (12, 0, 10, (0, "commit ahead of the high watermark (topic recreated?)")),
        (1, 4, 10, (9, "commit below the low watermark (messages expired unread)")),
    ],
)
def test_partition_lag_edge_cases(committed, low, high, expected):
    assert partition_lag(committed, low, high) == expected


# --- reachability and secrets -------------------------------------------------------------------


@pytest.mark.parametrize("probe", [LAG, TOPICS], ids=lambda probe: probe.name)
def test_unreachable_bootstrap_is_reported_as_unreachable(probe):
    address = f"127.0.0.1:{closed_port()}"
    target = kafka_target([address], topics=["orders"], consumer_groups=["billing"])

    with pytest.raises(ProbeUnreachable) as excinfo:
        run(probe, target, timeout_s=2)

    assert str(excinfo.value) == f"no broker reachable at {address}"


def test_sasl_credentials_come_from_the_environment_and_stay_out_of_errors(monkeypatch):
    monkeypatch.setenv("EVENTS_KAFKA_USER", "ops")
    monkeypatch.setenv("EVENTS_KAFKA_PASSWORD", "s3cret-pass")
    address = f"127.0.0.1:{closed_port()}"
    target = kafka_target(
        [address],
        topics=["orders"],
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-256",
        sasl_username_env="EVENTS_KAFKA_USER",
        sasl_password_env="EVENTS_KAFKA_PASSWORD",
    )

    settings = client_config(target.config, timeout_s=2)

    assert (settings["sasl.username"], settings["sasl.password"]) == ("ops", "s3cret-pass")
    assert settings["sasl.mechanism"] == "SCRAM-SHA-256"
    assert settings["allow.auto.create.topics"] is False
    with pytest.raises(ProbeUnreachable) as excinfo:
        run(TOPICS, target, timeout_s=2)
    assert "s3cret-pass" not in str(excinfo.value)


def test_missing_sasl_environment_variable_is_a_config_error(monkeypatch):
    monkeypatch.delenv("EVENTS_KAFKA_PASSWORD", raising=False)
    monkeypatch.setenv("EVENTS_KAFKA_USER", "ops")
    target = kafka_target(
        ["127.0.0.1:9092"],
        security_protocol="SASL_SSL",
        sasl_mechanism="PLAIN",
        sasl_username_env="EVENTS_KAFKA_USER",
        sasl_password_env="EVENTS_KAFKA_PASSWORD",
    )

    with pytest.raises(ProbeConfigError, match="EVENTS_KAFKA_PASSWORD is not set"):
        run(TOPICS, target)


def test_both_probes_are_health_probes():
    assert {probe.name for probe in registry.health_probes("kafka")} == {
        "kafka.consumer_lag",
        "kafka.topics",
    }
