"""Redis remediation action: delete the keys matching a pattern, with SCAN and UNLINK.

Never KEYS: it walks the whole keyspace in one command and blocks a single-threaded server
for as long as that takes. SCAN walks it in small steps; UNLINK frees the values in a
background thread, so a big hash or list does not block the server either. The connection,
its timeouts and error texts are the Redis probes' (`connect`, `talking_to`, `BoundedScan`).
"""

from __future__ import annotations

import math

import redis
from rest_framework import serializers

from ..probes.base import ProbeUnreachable
from ..probes.redis import BoundedScan, connect, key_text, talking_to
from . import registry
from .base import Action, ActionRefused, ActionResult, Change, Preview

SCAN_COUNT = 1000  # SCAN's COUNT hint: keys examined per call
SAMPLE_SIZE = 20
MAX_KEYS_CAP = 1_000_000
PREVIEW_BUDGET = 0.5  # of the timeout, for the preview's scan (the sample needs the rest)
EXECUTE_BUDGET = 0.8  # of the timeout, for scanning and unlinking


class DeleteKeysParams(serializers.Serializer):
    pattern = serializers.CharField(
        max_length=1024,
        trim_whitespace=False,
        help_text="A SCAN MATCH glob, e.g. session:* or cache:user:*:profile.",
    )
    allow_all = serializers.BooleanField(
        default=False, help_text="Allow a pattern that matches every key (*)."
    )
    max_keys = serializers.IntegerField(
        min_value=1,
        max_value=MAX_KEYS_CAP,
        default=10_000,
        help_text="Refuse when more keys than this match; never delete more than this.",
    )
    batch_size = serializers.IntegerField(
        min_value=1, max_value=10_000, default=500, help_text="Keys per UNLINK command."
    )

    def validate(self, attrs):
        if matches_everything(attrs["pattern"]) and not attrs["allow_all"]:
            raise serializers.ValidationError(
                {"pattern": ["Matches every key in the database; set allow_all to confirm."]}
            )
        return attrs


def matches_everything(pattern: str) -> bool:
    return set(pattern) == {"*"}


@registry.register
class DeleteKeys(Action):
    name = "redis.delete_keys"
    kind = "redis"
    title = "Delete keys by pattern"
    description = (
        "Finds the keys matching a pattern with SCAN (never KEYS) and deletes them with UNLINK "
        "in pipelined batches, at most max_keys of them. The preview counts the matching keys "
        "and shows a sample with type and TTL."
    )
    params_class = DeleteKeysParams

    def preview(self, target, params: dict, timeout_s: float) -> Preview:
        pattern, max_keys = params["pattern"], params["max_keys"]
        client, where = connect(target, timeout_s)
        with talking_to(where), client:
            # One key past the limit is enough to know the limit is exceeded.
            scan = BoundedScan(
                client,
                match=pattern,
                count=SCAN_COUNT,
                max_keys=max_keys + 1,
                budget_s=timeout_s * PREVIEW_BUDGET,
            )
            sample: list[bytes] = []
            for keys in scan.batches():
                sample.extend(keys[: SAMPLE_SIZE - len(sample)])
            if scan.scanned > max_keys:
                raise ActionRefused(
                    f"more than {max_keys} keys match {pattern!r}; raise max_keys (at most "
                    f"{MAX_KEYS_CAP}) or narrow the pattern"
                )
            described = describe_keys(client, sample)
        count = scan.scanned
        counted = str(count) if scan.finished else f"at least {count}"
        plan = (
            f"SCAN MATCH {pattern} COUNT {SCAN_COUNT} + UNLINK in batches of {params['batch_size']}"
        )
        warnings = []
        if not scan.finished:
            warnings.append(
                f"The scan stopped at the time budget after {count} matching keys: more may "
                f"match. Execution deletes at most {max_keys}; run it again for the rest."
            )
        if count == 0:
            summary = f"No key of {where} matches {pattern!r}: nothing to delete"
        else:
            summary = f"Delete {counted} key(s) matching {pattern!r} on {where}"
        return Preview(
            summary=summary,
            changes=[Change(f"keys matching {pattern}", before=counted, after=0)],
            details={
                "pattern": pattern,
                "count": count,
                "count_exact": scan.finished,
                "sample": described,
                "commands": plan,
                "batches": math.ceil(count / params["batch_size"]),
                "max_keys": max_keys,
            },
            warnings=warnings,
            # The key set changes all the time (keys are written and expire): the count is a
            # snapshot, not a precondition. Execution deletes what matches when it runs.
            basis={"pattern": pattern},
        )

    def execute(self, target, params, preview, timeout_s, progress=None) -> ActionResult:
        pattern, max_keys, batch_size = params["pattern"], params["max_keys"], params["batch_size"]
        client, where = connect(target, timeout_s)
        deleted = batches = 0
        pending: list[bytes] = []

        def unlink(chunks: list[list[bytes]]) -> None:
            nonlocal deleted, batches
            pipe = client.pipeline(transaction=False)
            for chunk in chunks:
                pipe.unlink(*chunk)
            deleted += sum(pipe.execute())
            batches += len(chunks)

        # One key past the limit tells "exactly max_keys matched" from "more matched".
        scan = BoundedScan(
            client,
            match=pattern,
            count=SCAN_COUNT,
            max_keys=max_keys + 1,
            budget_s=timeout_s * EXECUTE_BUDGET,
        )
        taken = 0
        try:
            with talking_to(where), client:
                for keys in scan.batches():
                    keys = keys[: max_keys - taken]
                    taken += len(keys)
                    pending.extend(keys)
                    full = len(pending) // batch_size * batch_size
                    if full:
                        unlink(chunked(pending[:full], batch_size))
                        del pending[:full]
                if pending:
                    unlink([pending])
        except ProbeUnreachable as exc:
            if deleted:  # say how far it got
                raise ProbeUnreachable(
                    f"{exc} after deleting {deleted} key(s) in {batches} batch(es)"
                ) from None
            raise
        more = scan.scanned > max_keys or not scan.finished
        details = {
            "pattern": pattern,
            "matched": taken,
            "deleted": deleted,
            "batches": batches,
            "batch_size": batch_size,
            "more_may_match": more,
        }
        if taken == 0:
            return ActionResult(
                ok=True,
                summary=f"no key matches {pattern!r} any more: nothing deleted",
                details=details,
            )
        summary = f"deleted {deleted} key(s) matching {pattern!r} in {batches} batch(es)"
        if deleted < taken:
            summary += f" ({taken - deleted} had already gone)"
        if more:
            limit = f"max_keys ({max_keys})" if scan.scanned > max_keys else scan.stopped_by
            summary += f"; stopped at {limit}: more keys may match, run it again"
        return ActionResult(ok=True, summary=summary, details=details)


def chunked(keys: list[bytes], size: int) -> list[list[bytes]]:
    return [keys[start : start + size] for start in range(0, len(keys), size)]


def describe_keys(client: redis.Redis, keys: list[bytes]) -> list[dict]:
    """Type and TTL of each sampled key, in one round trip."""
    if not keys:
        return []
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.type(key)
        pipe.ttl(key)
    answers = pipe.execute()
    described = []
    for key, kind, ttl in zip(keys, answers[::2], answers[1::2], strict=True):
        described.append(
            {
                "key": key_text(key),
                "type": kind.decode() if isinstance(kind, bytes) else kind,
                # TTL: -1 = no expiry, -2 = gone since the scan saw it.
                "ttl_s": ttl if ttl >= 0 else None,
                "expires": ttl >= 0,
                "exists": ttl != -2,
            }
        )
    return described
