"""What both Kafka probes share: client settings, the run's deadline and error translation.

Every call is bounded by the run's deadline; metadata requests never auto-create a topic
(`allow.auto.create.topics=false`: asking about a typo must not create it); SASL secrets come
from the environment and never reach a result, and cluster-wide failures become short
`ProbeUnreachable` messages that name the bootstrap servers only.
"""

from __future__ import annotations

import logging
import time

from confluent_kafka import Consumer, KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from ..base import ProbeUnreachable, secret_from_env

# librdkafka logs connection failures to stderr by default; route them into Python logging,
# under the package's logger name.
LOGGER = logging.getLogger(__package__)

CLIENT_ID = "ops-portal-diagnostics"
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
