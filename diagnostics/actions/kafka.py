"""`kafka.reset_offsets`: move a consumer group's committed offsets on one topic.

What `kafka-consumer-groups --reset-offsets --to-latest|--to-earliest|--to-datetime` does,
through the admin API: the preview reads the group's committed offsets and the partitions'
watermarks (and, for a timestamp, the first offset at or after it) and shows per partition the
offset before → after, the lag before → after and how many messages the group skips or
replays; execute commits exactly the previewed offsets with `alter_consumer_group_offsets` and
reads them back.

Kafka refuses offset changes while a group has members. Where the broker can describe groups
the preview refuses a group with members; where it cannot (librdkafka's mock cluster, some
proxies) the preview says membership was not checked, and an active group's refusal at execute
time (UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS, NON_EMPTY_GROUP…) becomes the same "stop the
consumers first" refusal. Skipping to latest drops messages the group never processed: the
preview and the suggestion say so.
"""

from __future__ import annotations

from datetime import UTC, datetime

from confluent_kafka import (
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec
from rest_framework import serializers

from catalog.target_configs import KAFKA_NAME

from ..probes.base import ProbeUnreachable, Status
from ..probes.kafka.clients import (
    UNREACHABLE_CODES,
    Deadline,
    client_config,
    error_text,
    fetch_metadata,
    topic_problem,
    unreachable,
)
from ..probes.kafka.lag import partition_lag
from . import registry
from .base import Action, ActionRefused, ActionResult, Change, Preview, Suggestion

CLIENT_ID = "ops-portal-actions"
# Partitions one reset may touch: the stored preview (lists cut at 500 items) must hold them all.
MAX_PARTITIONS = 500
TO_CHOICES = ("latest", "earliest", "timestamp")
# What a broker answers an offset commit for a group that has (or is rebalancing) members.
ACTIVE_GROUP_CODES = {
    KafkaError.UNKNOWN_MEMBER_ID,
    KafkaError.REBALANCE_IN_PROGRESS,
    KafkaError.NON_EMPTY_GROUP,
    KafkaError.ILLEGAL_GENERATION,
    KafkaError.FENCED_INSTANCE_ID,
    KafkaError.STALE_MEMBER_EPOCH,
}
NO_COMMIT = "no commit"


class ResetOffsetsParams(serializers.Serializer):
    group = serializers.CharField(
        max_length=255,
        help_text="Consumer group (one of the target's consumer_groups when it lists any).",
    )
    topic = serializers.RegexField(KAFKA_NAME, max_length=249, help_text="Topic to reset.")
    to = serializers.ChoiceField(
        choices=TO_CHOICES,
        help_text="latest (skip unread messages: data loss), earliest (replay all retained) or "
        "timestamp (first message at or after `timestamp`).",
    )
    timestamp = serializers.DateTimeField(
        required=False,
        default_timezone=UTC,
        help_text="ISO 8601 time (UTC when no offset is given); required with to=timestamp.",
    )
    partitions = serializers.ListField(
        child=serializers.IntegerField(min_value=0),
        required=False,
        min_length=1,
        max_length=MAX_PARTITIONS,
        help_text="Partitions to reset (default: all of the topic's partitions).",
    )

    def validate(self, attrs):
        moment = attrs.get("timestamp")
        if attrs["to"] == "timestamp" and moment is None:
            raise serializers.ValidationError({"timestamp": ["Required with to=timestamp."]})
        if attrs["to"] != "timestamp" and moment is not None:
            raise serializers.ValidationError({"timestamp": ["Only with to=timestamp."]})
        if moment is not None:
            # Stored as JSON with the request: keep a string, to Kafka's millisecond precision.
            attrs["timestamp"] = iso_ms(moment)
        partitions = attrs.get("partitions")
        if partitions is not None:
            if len(set(partitions)) != len(partitions):
                raise serializers.ValidationError({"partitions": ["Partitions repeat."]})
            attrs["partitions"] = sorted(partitions)
        return attrs


def iso_ms(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch_ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


# --- reading the group and the topic -----------------------------------------------------------


class GroupOffsets:
    """The admin-API reads and the write of one reset, each bounded by the run's deadline."""

    def __init__(self, config: dict, timeout_s: float):
        self.config = config
        self.deadline = Deadline(timeout_s * 0.9)
        # AdminClient has no close(): its handle is destroyed with the last reference.
        self.admin = AdminClient({**client_config(config, timeout_s), "client.id": CLIENT_ID})

    def _wait(self, future, what: str):
        """A future's result; cluster-wide failures become ProbeUnreachable."""
        try:
            return future.result(timeout=self.deadline.left())
        except TimeoutError as exc:
            where = ",".join(self.config["bootstrap_servers"])
            raise ProbeUnreachable(f"kafka at {where} did not answer {what} in time") from exc

    def partitions(self, topic: str, wanted: list[int] | None) -> list[int]:
        """The partitions to reset; refuses a missing topic or partition."""
        metadata = fetch_metadata(self.admin, self.config, self.deadline, topic=topic)
        found = metadata.topics.get(topic)
        if found is None or found.error is not None:
            raise ActionRefused(topic_problem(topic, found.error if found is not None else None))
        existing = sorted(found.partitions)
        if wanted is None:
            if len(existing) > MAX_PARTITIONS:
                raise ActionRefused(
                    f"topic {topic} has {len(existing)} partitions; one reset takes at most "
                    f"{MAX_PARTITIONS}: give `partitions`"
                )
            return existing
        missing = [p for p in wanted if p not in found.partitions]
        if missing:
            raise ActionRefused(
                f"topic {topic} has no partition {', '.join(map(str, missing))} "
                f"(it has {len(existing)}: 0–{len(existing) - 1})"
            )
        return list(wanted)

    def committed(self, group: str, topic: str, partitions: list[int]) -> dict[int, int | None]:
        """The group's committed offset per partition (None: no commit)."""
        request = ConsumerGroupTopicPartitions(
            group, [TopicPartition(topic, p) for p in partitions]
        )
        try:
            future = self.admin.list_consumer_group_offsets(
                [request], request_timeout=self.deadline.left()
            )[group]
            listed = self._wait(future, "the committed offsets")
        except KafkaException as exc:
            raise self._failure(exc, f"the committed offsets of group {group}") from exc
        offsets = {}
        for tp in listed.topic_partitions or []:
            if tp.error is not None:
                raise ActionRefused(
                    f"committed offset of group {group} on {topic} partition {tp.partition} "
                    f"unreadable: {tp.error.str()}"
                )
            offsets[tp.partition] = tp.offset if tp.offset >= 0 else None
        missing = [p for p in partitions if p not in offsets]
        if missing:
            raise ActionRefused(f"kafka did not answer the committed offsets of {missing}")
        return offsets

    def offsets(self, topic: str, partitions: list[int], spec, what: str) -> dict[int, object]:
        """ListOffsetsResultInfo (offset, timestamp) per partition for one OffsetSpec."""
        futures = self.admin.list_offsets(
            {TopicPartition(topic, p): spec for p in partitions},
            request_timeout=self.deadline.left(),
        )
        answers = {}
        for tp, future in futures.items():
            try:
                answers[tp.partition] = self._wait(future, what)
            except KafkaException as exc:
                raise self._failure(exc, f"the {what} of {topic} partition {tp.partition}") from exc
        return answers

    def members(self, group: str) -> tuple[str, list[str]]:
        """(membership text, warnings); refuses a group that has members."""
        unchecked = (
            f"could not check whether group {group} has active members ({{}}); if it has, Kafka "
            "refuses the reset and nothing changes"
        )
        try:
            future = self.admin.describe_consumer_groups(
                [group], request_timeout=self.deadline.left()
            )[group]
            description = future.result(timeout=self.deadline.left())
        except KafkaException as exc:
            error = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
            if error is not None and error.code() == KafkaError._UNSUPPORTED_FEATURE:
                reason = "this broker cannot describe groups"
            else:
                reason = f"describing it failed: {error_text(exc)}"
            return "not checked: " + reason, [unchecked.format(reason)]
        except TimeoutError:
            reason = "describing it timed out"
            return "not checked: " + reason, [unchecked.format(reason)]
        return membership(group, description), []

    def alter(self, group: str, topic: str, offsets: dict[int, int]) -> dict[int, KafkaError]:
        """Commit `offsets`; the partitions the broker answered with an error."""
        request = ConsumerGroupTopicPartitions(
            group, [TopicPartition(topic, p, o) for p, o in sorted(offsets.items())]
        )
        future = self.admin.alter_consumer_group_offsets(
            [request], request_timeout=self.deadline.left()
        )[group]
        try:
            answered = future.result(timeout=self.deadline.left()).topic_partitions or []
        except TimeoutError:
            # Maybe applied, maybe not: the caller reads the offsets back and reports them.
            late = KafkaError(KafkaError._TIMED_OUT, "no answer to the offset change in time")
            return dict.fromkeys(offsets, late)
        return {tp.partition: tp.error for tp in answered if tp.error is not None}

    def _failure(self, exc: KafkaException, what: str) -> Exception:
        error = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
        if error is None or error.code() in UNREACHABLE_CODES:
            return unreachable(exc, self.config)
        return ActionRefused(f"could not read {what}: {error.str()}")


def membership(group: str, description) -> str:
    """What a group description says about members; refuses a group that has some."""
    count = len(description.members)
    state = getattr(description.state, "name", str(description.state))
    if count:
        noun = "member" if count == 1 else "members"
        raise ActionRefused(
            f"group {group} has {count} active {noun}: stop the consumers first "
            "(Kafka refuses offset changes for an active group)"
        )
    return f"no active members (state {state})"


def active_group(group: str, error: KafkaError) -> ActionRefused:
    return ActionRefused(
        f"group {group} is active: Kafka refused the offset change ({error.str()}); stop the "
        "group's consumers first (Kafka refuses offset changes for an active group)"
    )


def check_group(config: dict, group: str) -> None:
    allowed = config.get("consumer_groups") or []
    if allowed and group not in allowed:
        shown = ", ".join(allowed[:10]) + (f" and {len(allowed) - 10} more" if allowed[10:] else "")
        raise ActionRefused(f"group {group} is not one of this target's consumer groups ({shown})")


# --- computing the change -----------------------------------------------------------------------


def timestamp_offset(found: int, found_ts: int, high: int) -> tuple[int, str]:
    """Where a timestamp lookup puts a partition, as kafka-consumer-groups --to-datetime does:
    the first message at or after the time, or the high watermark when there is none."""
    if found < 0:
        return high, "no message at or after the timestamp: high watermark"
    if found_ts >= 0:
        return found, f"first message at or after the timestamp (its time {found_ts} ms)"
    return found, "first message at or after the timestamp"


def partition_row(partition: int, current: int | None, new: int, low: int, high: int) -> dict:
    """Offset, lag and messages skipped/replayed of one partition."""
    lag_before, note = partition_lag(current, low, high)
    lag_after, _ = partition_lag(new, low, high)
    skipped = replayed = None
    if current is None:
        note = "no commit before: the group started where its auto.offset.reset says"
    else:
        # Where the group would really read next: an expired commit restarts at the low
        # watermark, a commit past the end (topic recreated) waits at the high one.
        effective = min(max(current, low), high)
        skipped, replayed = max(0, new - effective), max(0, effective - new)
    return {
        "partition": partition,
        "committed": current,
        "new": new,
        "low": low,
        "high": high,
        "lag_before": lag_before,
        "lag_after": lag_after,
        "skipped": skipped,
        "replayed": replayed,
        "note": note,
    }


def movement(skipped: int, replayed: int) -> str:
    parts = []
    if skipped:
        parts.append(f"skips {skipped} messages")
    if replayed:
        parts.append(f"replays {replayed} messages")
    return " and ".join(parts) or "skips and replays nothing"


def target_label(to: str, timestamp: str | None) -> str:
    return f"the first offsets at or after {timestamp}" if to == "timestamp" else to


# --- the action ---------------------------------------------------------------------------------


@registry.register
class ResetOffsetsAction(Action):
    name = "kafka.reset_offsets"
    kind = "kafka"
    title = "Reset consumer group offsets"
    description = (
        "Move a consumer group's committed offsets on a topic to the latest offsets (skips "
        "unread messages: data loss), the earliest retained ones (replays) or the first at or "
        "after a time. Refused while the group has active members, as Kafka does."
    )
    params_class = ResetOffsetsParams
    approval_on_high_severity = True
    suggested_by = ("kafka.consumer_lag",)

    def preview(self, target, params: dict, timeout_s: float) -> Preview:
        config = target.config
        group, topic, to = params["group"], params["topic"], params["to"]
        timestamp = params.get("timestamp")
        check_group(config, group)
        kafka = GroupOffsets(config, timeout_s)
        partitions = kafka.partitions(topic, params.get("partitions"))
        members, warnings = kafka.members(group)
        committed = kafka.committed(group, topic, partitions)
        low = kafka.offsets(topic, partitions, OffsetSpec.earliest(), "low watermark")
        high = kafka.offsets(topic, partitions, OffsetSpec.latest(), "high watermark")
        found = {}
        if to == "timestamp":
            spec = OffsetSpec.for_timestamp(epoch_ms(timestamp))
            found = kafka.offsets(topic, partitions, spec, "offset for the timestamp")
        rows = []
        for p in partitions:
            lo, hi = low[p].offset, high[p].offset
            if to == "latest":
                new, note = hi, ""
            elif to == "earliest":
                new, note = lo, ""
            else:
                new, note = timestamp_offset(found[p].offset, found[p].timestamp, hi)
            row = partition_row(p, committed[p], new, lo, hi)
            if note:
                row["note"] = "; ".join(filter(None, [note, row["note"]]))
            rows.append(row)
        return build_preview(group, topic, to, timestamp, rows, members, warnings)

    def execute(
        self, target, params: dict, preview: dict, timeout_s: float, progress=None
    ) -> ActionResult:
        details, basis = preview["details"], preview["basis"]
        group, topic = details["group"], details["topic"]
        if (group, topic) != (params["group"], params["topic"]):
            raise ActionRefused("the preview is for another group or topic: preview again")
        check_group(target.config, group)
        wanted = {int(o["partition"]): int(o["offset"]) for o in details["request"]["offsets"]}
        then = {int(p): offset for p, offset in basis["committed"].items()}
        partitions = sorted(wanted)
        kafka = GroupOffsets(target.config, timeout_s)
        before = kafka.committed(group, topic, partitions)
        label = target_label(details["to"], details.get("timestamp"))
        if all(before[p] == wanted[p] for p in partitions):
            return ActionResult(
                ok=True,
                summary=f"group {group} on {topic} is already at the requested offsets "
                f"({label}); nothing changed",
                details=outcome(group, topic, partitions, before, before, wanted, changed=False),
            )
        # A partition still at the preview's offset, or already moved by an earlier attempt:
        # anything else means the group committed since the preview.
        if any(before[p] not in (then.get(p), wanted[p]) for p in partitions):
            raise ActionRefused("the group committed new offsets since the preview: preview again")
        try:
            failed = kafka.alter(group, topic, wanted)
        except KafkaException as exc:
            error = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
            if error is not None and error.code() in ACTIVE_GROUP_CODES:
                raise active_group(group, error) from exc
            if error is None or error.code() in UNREACHABLE_CODES:
                raise unreachable(exc, target.config) from exc
            failed = dict.fromkeys(partitions, error)
        after = kafka.committed(group, topic, partitions)
        active = next((e for e in failed.values() if e.code() in ACTIVE_GROUP_CODES), None)
        if active is not None and after == before:
            raise active_group(group, active)
        errors = {p: error.str() for p, error in failed.items()}
        return reset_result(group, topic, label, partitions, before, after, wanted, errors)

    def suggest(self, probe_name: str, result: dict) -> list[Suggestion]:
        if probe_name != "kafka.consumer_lag":
            return []
        statuses = {check["name"]: check["status"] for check in result.get("checks", [])}
        table = next((t for t in result.get("tables", []) if t["name"] == "topic_lag"), None)
        if table is None:
            return []
        columns = table["columns"]
        suggestions = []
        for row in table["rows"]:
            values = dict(zip(columns, row, strict=False))
            group, topic, lag = values["group"], values["topic"], values["total lag"]
            status = statuses.get(f"lag.{group}.{topic}")
            if status not in (Status.WARNING, Status.CRITICAL) or not lag:
                continue
            suggestions.append(
                Suggestion(
                    action=self.name,
                    label=f"Skip to latest for group {group} on topic {topic} (drops {lag} "
                    "messages — data loss: the group will never process them)",
                    params={"group": group, "topic": topic, "to": "latest"},
                )
            )
        return suggestions


def build_preview(group, topic, to, timestamp, rows, members, warnings) -> Preview:
    skipped = sum(row["skipped"] or 0 for row in rows)
    replayed = sum(row["replayed"] or 0 for row in rows)
    without_commit = sum(row["committed"] is None for row in rows)
    unchanged = all(row["committed"] == row["new"] for row in rows)
    label = target_label(to, timestamp)
    if unchanged:
        change = "already at these offsets, nothing to change"
    else:
        change = movement(skipped, replayed)
    summary = f"Reset group {group} on {topic} to {label}: {len(rows)} partitions, {change}"
    warnings = list(warnings)
    if skipped:
        warnings.append(
            f"skips {skipped} messages the group has not processed: it will never process them "
            "(data loss)"
        )
    if without_commit:
        warnings.append(
            f"{without_commit} partitions have no commit by group {group}: what changes for "
            "them depends on the group's auto.offset.reset"
        )
    return Preview(
        summary=summary,
        changes=[
            Change(
                what=f"committed offset of group {group} on {topic} partition {row['partition']}",
                before=NO_COMMIT if row["committed"] is None else row["committed"],
                after=row["new"],
            )
            for row in rows
        ],
        details={
            "group": group,
            "topic": topic,
            "to": to,
            "timestamp": timestamp,
            "membership": members,
            "partitions": rows,
            "totals": {
                "partitions": len(rows),
                "skipped": skipped,
                "replayed": replayed,
                "without_commit": without_commit,
                "lag_before": sum(row["lag_before"] for row in rows),
                "lag_after": sum(row["lag_after"] for row in rows),
            },
            "request": {
                "call": "AdminClient.alter_consumer_group_offsets",
                "group": group,
                "offsets": [
                    {"topic": topic, "partition": row["partition"], "offset": row["new"]}
                    for row in rows
                ],
            },
        },
        warnings=warnings,
        basis={
            "group": group,
            "topic": topic,
            "committed": {str(row["partition"]): row["committed"] for row in rows},
        },
    )


def outcome(group, topic, partitions, before, after, wanted, *, changed: bool, errors=None):
    errors = errors or {}
    return {
        "group": group,
        "topic": topic,
        "changed": changed,
        "partitions": [
            {
                "partition": p,
                "before": before[p],
                "after": after[p],
                "requested": wanted[p],
                "error": errors.get(p, ""),
            }
            for p in partitions
        ],
    }


def reset_result(group, topic, label, partitions, before, after, wanted, errors) -> ActionResult:
    details = outcome(
        group, topic, partitions, before, after, wanted, changed=after != before, errors=errors
    )
    off = [p for p in partitions if after[p] != wanted[p]]
    moved = sum(after[p] != before[p] for p in partitions)
    if not off and not errors:
        return ActionResult(
            ok=True,
            summary=f"group {group} on {topic} reset to {label}: {moved} of {len(partitions)} "
            "partitions moved, read back at the requested offsets",
            details=details,
        )
    first = next(iter(errors.values()), "")
    return ActionResult(
        ok=False,
        summary=f"offset reset of group {group} on {topic} incomplete: partitions "
        f"{', '.join(map(str, off or sorted(errors)))} not at the requested offsets"
        + (f" ({first})" if first else ""),
        details=details,
    )
