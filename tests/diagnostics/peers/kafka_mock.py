"""A librdkafka mock Kafka cluster in a child process, steered by tests.

The mock cluster ships inside the confluent-kafka wheel's librdkafka. `test.mock.num.brokers`
gives one with auto-created 4-partition topics and no way to break it; the C mock API (called
here with ctypes) adds what the probe tests need: topics with an exact partition count and
replication factor, records deleted below an offset (a low watermark above 0), a partition
without a leader, and brokers taken down and up.

The cluster runs in its own process so that a broker going down never touches the test
process's own clients' threads, and so that a crashed test cannot leave a cluster behind: the
child exits when its stdin closes. Protocol: one command per line on stdin, one answer line on
stdout (`ok …` or `error …`):

    topic NAME PARTITIONS REPLICATION   create a topic
    trim TOPIC PARTITION OFFSET         delete records below OFFSET (low watermark = OFFSET)
    leader TOPIC PARTITION BROKER       set the partition leader (-1: no leader, offline)
    down BROKER / up BROKER             stop / resume a broker (it leaves / rejoins Metadata)
    quit

Usage from a test:

    with MockKafkaCluster(brokers=3) as cluster:
        cluster.create_topic("orders", partitions=3, replication_factor=3)
        cluster.produce("orders", {0: 10, 1: 20})
        cluster.commit("billing", "orders", {0: 7})
        cluster.bootstrap_servers   # ["127.0.0.1:…", …]
"""

from __future__ import annotations

import ctypes
import glob
import os
import subprocess
import sys

RD_KAFKA_PRODUCER = 0
START_TIMEOUT_S = 10


class MockKafkaCluster:
    """Handle on a mock cluster child process, plus helpers that write test data to it."""

    def __init__(self, brokers: int = 3):
        self.brokers = brokers
        self.bootstrap_servers: list[str] = []
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> MockKafkaCluster:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def bootstrap(self) -> str:
        return ",".join(self.bootstrap_servers)

    def start(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), str(self.brokers)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        answer = self._read_answer()
        self.bootstrap_servers = answer.split(",")

    def stop(self) -> None:
        if self._process is None:
            return
        try:
            self._process.stdin.write("quit\n")
            self._process.stdin.close()
            self._process.wait(timeout=START_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired):
            self._process.kill()
            self._process.wait()
        self._process = None

    # --- commands executed by the child ---------------------------------------------------

    def create_topic(self, name: str, *, partitions: int, replication_factor: int) -> None:
        self._command(f"topic {name} {partitions} {replication_factor}")

    def delete_records_below(self, topic: str, partition: int, offset: int) -> None:
        self._command(f"trim {topic} {partition} {offset}")

    def set_leader(self, topic: str, partition: int, broker_id: int) -> None:
        self._command(f"leader {topic} {partition} {broker_id}")

    def broker_down(self, broker_id: int) -> None:
        self._command(f"down {broker_id}")

    def broker_up(self, broker_id: int) -> None:
        self._command(f"up {broker_id}")

    # --- test data, written with ordinary clients -------------------------------------------

    def produce(self, topic: str, counts: dict[int, int]) -> None:
        """Produce `count` small messages to each given partition and wait until acknowledged."""
        from confluent_kafka import Producer

        producer = Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 0})
        for partition, count in counts.items():
            for index in range(count):
                producer.produce(topic, value=f"m{index}".encode(), partition=partition)
        remaining = producer.flush(START_TIMEOUT_S)
        assert remaining == 0, f"{remaining} messages were not acknowledged"

    def commit(self, group: str, topic: str, offsets: dict[int, int]) -> None:
        """Commit `offsets` for `group` without joining it (the mock accepts a memberless
        commit, as real Kafka does for an empty group)."""
        from confluent_kafka import Consumer, TopicPartition

        consumer = Consumer(
            {"bootstrap.servers": self.bootstrap, "group.id": group, "enable.auto.commit": False}
        )
        try:
            result = consumer.commit(
                offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()],
                asynchronous=False,
            )
            errors = [tp for tp in result if tp.error is not None]
            assert not errors, f"commit failed: {errors}"
        finally:
            consumer.close()

    # --- plumbing -----------------------------------------------------------------------------

    def _command(self, line: str) -> str:
        assert self._process is not None, "cluster not started"
        self._process.stdin.write(line + "\n")
        self._process.stdin.flush()
        return self._read_answer()

    def _read_answer(self) -> str:
        line = self._process.stdout.readline().strip()
        if not line.startswith("ok"):
            raise RuntimeError(f"mock cluster: {line or 'exited without answering'}")
        return line[3:]


# --- the child process ------------------------------------------------------------------------


def _load_librdkafka() -> ctypes.CDLL:
    """The librdkafka bundled in the confluent-kafka wheel, with the mock API's signatures."""
    import confluent_kafka

    package_dir = os.path.dirname(confluent_kafka.__file__)
    candidates = glob.glob(os.path.join(package_dir, os.pardir, "confluent_kafka.libs", "*.so*"))
    candidates = [path for path in candidates if "librdkafka" in os.path.basename(path)]
    if not candidates:
        raise RuntimeError("librdkafka not found next to confluent_kafka")
    lib = ctypes.CDLL(candidates[0])
    vp, cp, i32 = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32
    signatures = {
        "rd_kafka_conf_new": (vp, []),
        "rd_kafka_conf_set": (ctypes.c_int, [vp, cp, cp, cp, ctypes.c_size_t]),
        "rd_kafka_new": (vp, [ctypes.c_int, vp, cp, ctypes.c_size_t]),
        "rd_kafka_destroy": (None, [vp]),
        "rd_kafka_mock_cluster_new": (vp, [vp, ctypes.c_int]),
        "rd_kafka_mock_cluster_destroy": (None, [vp]),
        "rd_kafka_mock_cluster_bootstraps": (cp, [vp]),
        "rd_kafka_mock_group_initial_rebalance_delay_ms": (ctypes.c_int, [vp, i32]),
        "rd_kafka_mock_topic_create": (ctypes.c_int, [vp, cp, ctypes.c_int, ctypes.c_int]),
        "rd_kafka_mock_partition_delete_records": (ctypes.c_int, [vp, cp, i32, ctypes.c_int64]),
        "rd_kafka_mock_partition_set_leader": (ctypes.c_int, [vp, cp, i32, i32]),
        "rd_kafka_mock_broker_set_down": (ctypes.c_int, [vp, i32]),
        "rd_kafka_mock_broker_set_up": (ctypes.c_int, [vp, i32]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    return lib


def _new_cluster(lib: ctypes.CDLL, brokers: int) -> tuple[int, int]:
    errstr = ctypes.create_string_buffer(512)
    conf = lib.rd_kafka_conf_new()
    # The owning handle has no bootstrap servers of its own; keep its notice about that quiet.
    lib.rd_kafka_conf_set(conf, b"log_level", b"3", errstr, len(errstr))
    handle = lib.rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, len(errstr))
    if not handle:
        raise RuntimeError(errstr.value.decode())
    cluster = lib.rd_kafka_mock_cluster_new(handle, brokers)
    if not cluster:
        raise RuntimeError("rd_kafka_mock_cluster_new failed")
    # Groups that tests join should not wait the default 3 s before their first assignment.
    lib.rd_kafka_mock_group_initial_rebalance_delay_ms(cluster, 0)
    return handle, cluster


def _execute(lib: ctypes.CDLL, cluster: int, words: list[str]) -> int:
    """Run one command; the mock API's return value (0 = no error)."""
    verb, args = words[0], words[1:]
    if verb == "topic":
        return lib.rd_kafka_mock_topic_create(cluster, args[0].encode(), int(args[1]), int(args[2]))
    if verb == "trim":
        return lib.rd_kafka_mock_partition_delete_records(
            cluster, args[0].encode(), int(args[1]), int(args[2])
        )
    if verb == "leader":
        return lib.rd_kafka_mock_partition_set_leader(
            cluster, args[0].encode(), int(args[1]), int(args[2])
        )
    if verb == "down":
        return lib.rd_kafka_mock_broker_set_down(cluster, int(args[0]))
    if verb == "up":
        return lib.rd_kafka_mock_broker_set_up(cluster, int(args[0]))
    raise ValueError(f"unknown command {verb!r}")


def main(brokers: int) -> None:
    lib = _load_librdkafka()
    handle, cluster = _new_cluster(lib, brokers)
    print("ok " + lib.rd_kafka_mock_cluster_bootstraps(cluster).decode(), flush=True)
    for line in sys.stdin:  # EOF (the test process went away) ends the cluster too
        words = line.split()
        if not words:
            continue
        if words[0] == "quit":
            break
        try:
            code = _execute(lib, cluster, words)
        except (ValueError, IndexError) as exc:
            print(f"error {exc}", flush=True)
            continue
        print("ok" if code == 0 else f"error code {code}", flush=True)
    lib.rd_kafka_mock_cluster_destroy(cluster)
    lib.rd_kafka_destroy(handle)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
