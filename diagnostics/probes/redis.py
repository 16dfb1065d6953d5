"""Redis probes: memory pressure, cache hit rate, big keys and the TTL spread of a key pattern.

The URL comes from the environment variable the target names (`url_env`); every call has
`socket_timeout`/`socket_connect_timeout` derived from the probe timeout and the target config,
and retries are off so an unreachable server costs one timeout, not several.

Key sampling uses SCAN, never KEYS (KEYS blocks a single-threaded server for the whole
keyspace), bounded by a number of keys and a time budget; per-key lookups are pipelined. Two
side effects of looking are worth knowing: TYPE and TTL lookups count as keyspace hits in
Redis's own statistics, and MEMORY USAGE estimates aggregates from a sample of 5 elements.
Nothing here writes to the server.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from rest_framework import serializers

from . import registry
from .base import (
    Check,
    Probe,
    ProbeConfigError,
    ProbeResult,
    ProbeUnreachable,
    Status,
    Table,
    level,
    secret_from_env,
)
from .units import human_bytes, human_duration

KEY_CHARS = 200  # of a key name in a finding
MAX_ROWS = 200
SINCE_RESET = "since restart or CONFIG RESETSTAT"


# --- connection -------------------------------------------------------------------------------


def connect(target, timeout_s: float) -> tuple[redis.Redis, str]:
    """A client with bounded timeouts and no retries, and "host:port/db" for messages."""
    config = target.config
    url = secret_from_env(config, "url_env")
    try:
        client = redis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=min(config["connect_timeout_s"], timeout_s),
            retry=Retry(NoBackoff(), 0),
        )
    except ValueError as exc:
        # The parser's message may quote the URL, password included, so it is not passed on.
        raise ProbeConfigError(
            f"the URL in environment variable {config['url_env']} is not a valid "
            "redis://, rediss:// or unix:// URL"
        ) from exc
    kwargs = client.connection_pool.connection_kwargs
    place = kwargs.get("path") or f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"
    return client, f"{place}/{kwargs.get('db', 0)}"


@contextmanager
def talking_to(where: str) -> Iterator[None]:
    """Turn client errors into short ProbeUnreachable messages (no URL, no password)."""
    address = where.rsplit("/", 1)[0]
    try:
        yield
    except redis.AuthenticationError:
        raise ProbeUnreachable(f"authentication failed on {address}") from None
    except redis.TimeoutError:
        raise ProbeUnreachable(f"timed out waiting for {address}") from None
    except redis.ConnectionError as exc:
        if "refused" in str(exc).lower():
            raise ProbeUnreachable(f"connection refused: {address}") from None
        raise ProbeUnreachable(f"could not talk to {address}: connection error") from None
    except redis.ResponseError as exc:
        # A server-side refusal (an ACL without INFO or MEMORY, a cluster redirect): the
        # server's own text names the command and carries no secret.
        raise ProbeUnreachable(f"{address} refused a command: {str(exc)[:200]}") from None


# --- shared helpers ---------------------------------------------------------------------------


def key_text(key: bytes) -> str:
    text = key.decode("utf-8", "backslashreplace")
    return text if len(text) <= KEY_CHARS else text[: KEY_CHARS - 1] + "…"


class BoundedScan:
    """SCAN in batches until the keyspace is done, `max_keys` distinct keys were seen or the
    time budget is spent — whichever comes first. `finished` says whether it saw everything.
    """

    def __init__(self, client: redis.Redis, *, match: str, count: int, max_keys: int, budget_s):
        self.client, self.match, self.count, self.max_keys = client, match, count, max_keys
        self.deadline = time.monotonic() + budget_s
        self.scanned = 0
        self.finished = False
        self.stopped_by = ""

    def batches(self) -> Iterator[list[bytes]]:
        cursor, seen = 0, set()
        while True:
            cursor, keys = self.client.scan(cursor, match=self.match, count=self.count)
            # SCAN may return a key twice while the server rehashes: count each once.
            fresh = [key for key in dict.fromkeys(keys) if key not in seen]
            trimmed = len(fresh) > self.max_keys - self.scanned
            fresh = fresh[: self.max_keys - self.scanned]
            seen.update(fresh)
            self.scanned += len(fresh)
            if fresh:
                yield fresh
            if cursor == 0 and not trimmed:  # the last page, and every key of it was kept
                self.finished = True
                return
            if self.scanned >= self.max_keys:
                self.stopped_by = "max_keys_scanned"
                return
            if time.monotonic() > self.deadline:
                self.stopped_by = "the time budget"
                return

    def describe(self) -> str:
        return "scan complete" if self.finished else f"scan stopped by {self.stopped_by}"

    def incomplete_warning(self) -> list[str]:
        if self.finished:
            return []
        return [
            f"The scan stopped at {self.stopped_by} after {self.scanned} keys: the results "
            "are a sample. Raise max_keys_scanned or the timeout, or narrow the pattern."
        ]


class ScanParams(serializers.Serializer):
    count = serializers.IntegerField(
        min_value=10, max_value=10_000, default=500, help_text="SCAN COUNT hint per call."
    )
    max_keys_scanned = serializers.IntegerField(
        min_value=1, max_value=200_000, default=10_000, help_text="Stop after this many keys."
    )
    time_budget_fraction = serializers.FloatField(
        min_value=0.05,
        max_value=0.9,
        default=0.5,
        help_text="Share of the probe timeout the scan may take before it stops.",
    )


def bounded_scan(client: redis.Redis, params: dict, match: str, timeout_s: float) -> BoundedScan:
    """The scan a probe's ScanParams ask for, within its share of the probe timeout."""
    return BoundedScan(
        client,
        match=match,
        count=params["count"],
        max_keys=params["max_keys_scanned"],
        budget_s=timeout_s * params["time_budget_fraction"],
    )


# --- redis.memory -----------------------------------------------------------------------------


class MemoryParams(serializers.Serializer):
    critical_percent = serializers.FloatField(
        min_value=1,
        max_value=100,
        default=95,
        help_text="Critical at this % of maxmemory (the warning level is the target's "
        "memory_warning_percent).",
    )
    fragmentation_warning_ratio = serializers.FloatField(
        min_value=1, default=1.5, help_text="Warn when RSS / used memory is above this …"
    )
    fragmentation_min_excess_mb = serializers.FloatField(
        min_value=0,
        default=100,
        help_text="… and RSS exceeds used memory by at least this many MiB. A small dataset "
        "always shows a high ratio (an idle server's RSS is mostly the process itself); 100 "
        "MiB is Redis's own active-defrag-ignore-bytes default.",
    )


@registry.register
class MemoryProbe(Probe):
    name = "redis.memory"
    kind = "redis"
    title = "Memory, maxmemory and evictions"
    description = (
        "Used, peak and RSS memory against maxmemory, the eviction policy, fragmentation, "
        "evicted keys and writes rejected for lack of memory (INFO memory, stats, errorstats)."
    )
    params_class = MemoryParams
    health = True

    def run(self, target, params: dict, timeout_s: float) -> ProbeResult:
        client, where = connect(target, timeout_s)
        with talking_to(where), client:
            info = client.info()
        return self.result(info, params, target.config["memory_warning_percent"])

    def result(self, info: dict, params: dict, warning_percent: float) -> ProbeResult:
        used, maxmemory = info["used_memory"], info.get("maxmemory", 0)
        policy = info.get("maxmemory_policy", "noeviction")
        evicted = info.get("evicted_keys", 0)
        oom = info.get("errorstat_OOM", {}).get("count", 0)
        percent = round(100 * used / maxmemory, 1) if maxmemory else None
        checks = [
            self.usage_check(percent, maxmemory, warning_percent, params["critical_percent"]),
            self.fragmentation_check(info, params),
            Check(
                "evicted_keys",
                f"Keys evicted {SINCE_RESET}",
                evicted,
                Status.WARNING if evicted else Status.OK,
                "warning > 0",
                "keys",
            ),
            Check(
                "oom_rejections",
                f"Commands rejected with OOM {SINCE_RESET}",
                oom,
                Status.WARNING if oom else Status.OK,
                "warning > 0",
                "commands",
            ),
        ]
        warnings = self.explanations(policy, evicted, oom, percent, warning_percent)
        if maxmemory:
            limit = f"{human_bytes(used)} of {human_bytes(maxmemory)} maxmemory ({percent:g} %)"
        else:
            limit = f"{human_bytes(used)} used, no maxmemory limit"
        summary = (
            f"{limit}, policy {policy}; peak {human_bytes(info.get('used_memory_peak', 0))}, "
            f"RSS {human_bytes(info.get('used_memory_rss', 0))}, fragmentation "
            f"{info.get('mem_fragmentation_ratio')}; {evicted} keys evicted {SINCE_RESET}"
        )
        raw = {
            name: info.get(name)
            for name in (
                "used_memory", "used_memory_peak", "used_memory_rss", "mem_fragmentation_ratio",
                "maxmemory", "maxmemory_policy", "evicted_keys",
            )
        }  # fmt: skip
        raw["oom_rejections"] = oom
        return ProbeResult.from_checks(summary, checks, warnings=warnings, raw=raw)

    @staticmethod
    def usage_check(percent, maxmemory, warning_percent, critical_percent) -> Check:
        if not maxmemory:
            return Check(
                "used_memory_percent",
                "Memory used of maxmemory",
                None,
                Status.OK,
                "no maxmemory limit (maxmemory 0): Redis grows until the host runs out",
                "%",
            )
        return Check(
            "used_memory_percent",
            "Memory used of maxmemory",
            percent,
            level(percent, warning=warning_percent, critical=critical_percent),
            f"warning ≥ {warning_percent:g} % (target memory_warning_percent), critical ≥ "
            f"{critical_percent:g} % of {human_bytes(maxmemory)}",
            "%",
        )

    @staticmethod
    def fragmentation_check(info: dict, params: dict) -> Check:
        ratio = info.get("mem_fragmentation_ratio")
        excess = info.get("used_memory_rss", 0) - info["used_memory"]
        limit, min_excess = (
            params["fragmentation_warning_ratio"],
            params["fragmentation_min_excess_mb"],
        )
        fragmented = ratio is not None and ratio > limit and excess >= min_excess * 1024**2
        return Check(
            "fragmentation_ratio",
            "Memory fragmentation (RSS / used)",
            ratio,
            Status.WARNING if fragmented else Status.OK,
            f"warning > {limit:g} when RSS exceeds used memory by ≥ {min_excess:g} MiB",
        )

    @staticmethod
    def explanations(policy, evicted, oom, percent, warning_percent) -> list[str]:
        notes = []
        if policy == "noeviction":
            if evicted:
                notes.append(
                    f"{evicted} keys were evicted although the policy is now noeviction: the "
                    f"counter runs {SINCE_RESET}, so they were evicted under an earlier policy."
                )
            if oom or (percent is not None and percent >= warning_percent):
                notes.append(
                    "With maxmemory-policy noeviction a full Redis does not evict: it rejects "
                    "writes with OOM errors."
                )
        elif evicted:
            notes.append(
                f"Redis is at maxmemory and evicts keys ({policy}): cached data is dropped "
                "early, which shows up as cache misses."
            )
        return notes


# --- redis.hit_rate ---------------------------------------------------------------------------


class HitRateParams(serializers.Serializer):
    warning_below_percent = serializers.FloatField(
        min_value=0, max_value=100, default=80, help_text="Warn below this hit rate."
    )
    critical_below_percent = serializers.FloatField(
        min_value=0, max_value=100, default=50, help_text="Critical below this hit rate."
    )
    min_lookups = serializers.IntegerField(
        min_value=1,
        default=100,
        help_text="Fewer lookups than this are too few to judge: reported, status ok.",
    )

    def validate(self, attrs):
        if attrs["critical_below_percent"] > attrs["warning_below_percent"]:
            raise serializers.ValidationError(
                {"critical_below_percent": ["Must be ≤ warning_below_percent."]}
            )
        return attrs


@registry.register
class HitRateProbe(Probe):
    name = "redis.hit_rate"
    kind = "redis"
    title = "Cache hit rate"
    description = (
        "keyspace_hits / (hits + misses) from INFO stats — server-wide and counted since the "
        "last restart or CONFIG RESETSTAT — and keys per database from INFO keyspace."
    )
    params_class = HitRateParams

    def run(self, target, params: dict, timeout_s: float) -> ProbeResult:
        client, where = connect(target, timeout_s)
        with talking_to(where), client:
            info = client.info()
        return self.result(info, params)

    @staticmethod
    def result(info: dict, params: dict) -> ProbeResult:
        hits, misses = info.get("keyspace_hits", 0), info.get("keyspace_misses", 0)
        lookups = hits + misses
        rate = round(100 * hits / lookups, 1) if lookups else None
        warning, critical = params["warning_below_percent"], params["critical_below_percent"]
        judged = rate is not None and lookups >= params["min_lookups"]
        if not judged:
            status = Status.OK
        elif rate < critical:
            status = Status.CRITICAL
        elif rate < warning:
            status = Status.WARNING
        else:
            status = Status.OK
        checks = [
            Check(
                "hit_rate_percent",
                f"Keyspace hit rate {SINCE_RESET}",
                rate,
                status,
                f"warning < {warning:g} %, critical < {critical:g} % (judged from "
                f"{params['min_lookups']} lookups on)",
                "%",
            ),
            Check("lookups", f"Key lookups {SINCE_RESET}", lookups, unit="lookups"),
        ]
        keyspace = Table(
            "keyspace", "Keys per database", ["db", "keys", "expires", "avg_ttl_ms"], key=("db",)
        )
        databases = sorted(
            (int(name[2:]), stats)
            for name, stats in info.items()
            if name.startswith("db") and name[2:].isdigit() and isinstance(stats, dict)
        )
        for number, stats in databases:
            keyspace.add(
                number, stats.get("keys", 0), stats.get("expires", 0), stats.get("avg_ttl", 0)
            )
        keys = sum(stats.get("keys", 0) for _, stats in databases)
        uptime = human_duration(info.get("uptime_in_seconds", 0))
        if rate is None:
            summary = f"no key lookups {SINCE_RESET} (uptime {uptime})"
        else:
            summary = (
                f"hit rate {rate:g} % ({hits} hits, {misses} misses {SINCE_RESET}; uptime {uptime})"
            )
            if not judged:
                summary += f"; too few lookups to judge (< {params['min_lookups']})"
        summary += f"; {keys} keys in {len(databases)} database(s)"
        raw = {"keyspace_hits": hits, "keyspace_misses": misses, "hit_rate_percent": rate}
        raw["uptime_in_seconds"] = info.get("uptime_in_seconds")
        return ProbeResult(status, summary, checks=checks, tables=[keyspace], raw=raw)


# --- redis.big_keys ---------------------------------------------------------------------------


class BigKeysParams(ScanParams):
    match = serializers.CharField(
        max_length=200, default="*", help_text="SCAN MATCH pattern of the keys to look at."
    )
    limit = serializers.IntegerField(
        min_value=1, max_value=MAX_ROWS, default=20, help_text="How many of the largest to list."
    )
    big_key_bytes = serializers.IntegerField(
        min_value=1, default=10 * 1024**2, help_text="A key this large or larger is a warning."
    )


@registry.register
class BigKeysProbe(Probe):
    name = "redis.big_keys"
    kind = "redis"
    title = "Big keys (SCAN sample)"
    description = (
        "Scans keys with SCAN (bounded by a key count and a time budget), measures each with "
        "MEMORY USAGE and lists the largest with type and TTL; keys over a size are warnings."
    )
    params_class = BigKeysParams

    def run(self, target, params: dict, timeout_s: float) -> ProbeResult:
        client, where = connect(target, timeout_s)
        largest: list[tuple[int, bytes, str, int]] = []  # a min-heap of the `limit` largest
        big = 0
        with talking_to(where), client:
            scan = bounded_scan(client, params, params["match"], timeout_s)
            for batch in scan.batches():
                for key, size, kind, ttl in self.measure(client, batch):
                    big += size >= params["big_key_bytes"]
                    entry = (size, key, kind, ttl)
                    if len(largest) < params["limit"]:
                        heapq.heappush(largest, entry)
                    else:
                        heapq.heappushpop(largest, entry)
        rows = sorted(largest, key=lambda entry: (-entry[0], entry[1]))
        return self.result(params, scan, rows, big)

    @staticmethod
    def measure(client: redis.Redis, keys: list[bytes]):
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.memory_usage(key)
            pipe.type(key)
            pipe.ttl(key)
        replies = pipe.execute()
        for index, key in enumerate(keys):
            size, kind, ttl = replies[3 * index : 3 * index + 3]
            if size is None:  # deleted or expired since SCAN returned it
                continue
            yield key, size, kind.decode() if isinstance(kind, bytes) else kind, ttl

    @staticmethod
    def result(params, scan: BoundedScan, rows, big: int) -> ProbeResult:
        threshold = params["big_key_bytes"]
        table = Table(
            "largest_keys",
            f"Largest {params['limit']} keys matching {params['match']!r}",
            ["key", "type", "bytes", "ttl_s", "big"],
            key=("key",),
        )
        for size, key, kind, ttl in rows:
            table.add(key_text(key), kind, size, ttl if ttl >= 0 else None, size >= threshold)
        if scan.scanned > len(rows):
            table.total_rows = scan.scanned
        checks = [
            Check(
                "big_keys",
                f"Keys of {human_bytes(threshold)} or more",
                big,
                Status.WARNING if big else Status.OK,
                f"warning ≥ 1 key of ≥ {human_bytes(threshold)}",
                "keys",
            ),
            Check("keys_scanned", "Keys scanned", scan.scanned, unit="keys"),
            Check("scan_complete", "Scan complete", "yes" if scan.finished else "no"),
        ]
        summary = f"{scan.scanned} keys matching {params['match']!r} scanned ({scan.describe()})"
        if rows:
            size, key, kind = rows[0][:3]
            summary += f"; largest {key_text(key)} {human_bytes(size)} ({kind})"
        summary += f"; {big} key(s) ≥ {human_bytes(threshold)}"
        raw = {"scanned": scan.scanned, "finished": scan.finished, "big_keys": big}
        return ProbeResult.from_checks(
            summary, checks, tables=[table], warnings=scan.incomplete_warning(), raw=raw
        )


# --- redis.ttl_distribution -------------------------------------------------------------------

BUCKETS = (("< 1 m", 60), ("< 1 h", 3600), ("< 1 d", 86_400), ("≥ 1 d", math.inf))
NO_TTL = "none"


class TtlParams(ScanParams):
    pattern = serializers.CharField(
        max_length=200, help_text="SCAN MATCH pattern of the keys, e.g. session:*"
    )
    no_ttl_warning_percent = serializers.FloatField(
        min_value=0, max_value=100, default=50, help_text="Warn when this share has no TTL."
    )
    sample_rows = serializers.IntegerField(
        min_value=0, max_value=MAX_ROWS, default=20, help_text="Keys without TTL to list."
    )


@registry.register
class TtlDistributionProbe(Probe):
    name = "redis.ttl_distribution"
    kind = "redis"
    title = "TTL distribution of a key pattern"
    description = (
        "For the keys matching a pattern (SCAN, bounded): the share without a TTL, the "
        "shortest, average and longest TTL and a bucketed spread — the safe way to check "
        "what a cache is keeping."
    )
    params_class = TtlParams

    def run(self, target, params: dict, timeout_s: float) -> ProbeResult:
        client, where = connect(target, timeout_s)
        counts = dict.fromkeys([name for name, _ in BUCKETS] + [NO_TTL], 0)
        ttls: list[int] = []
        without: list[bytes] = []
        with talking_to(where), client:
            scan = bounded_scan(client, params, params["pattern"], timeout_s)
            for batch in scan.batches():
                pipe = client.pipeline(transaction=False)
                for key in batch:
                    pipe.ttl(key)
                for key, ttl in zip(batch, pipe.execute(), strict=True):
                    if ttl == -2:  # expired or deleted since SCAN returned it
                        continue
                    if ttl == -1:
                        counts[NO_TTL] += 1
                        if len(without) < params["sample_rows"]:
                            without.append(key)
                        continue
                    ttls.append(ttl)
                    counts[next(name for name, limit in BUCKETS if ttl < limit)] += 1
        return self.result(params, scan, counts, ttls, without)

    @staticmethod
    def result(params, scan: BoundedScan, counts, ttls, without) -> ProbeResult:
        keys = sum(counts.values())
        share = round(100 * counts[NO_TTL] / keys, 1) if keys else None
        threshold = params["no_ttl_warning_percent"]
        buckets = Table(
            "ttl_buckets", "Keys by TTL", ["bucket", "keys", "percent"], key=("bucket",)
        )
        for name, count in counts.items():
            buckets.add(name, count, round(100 * count / keys, 1) if keys else 0.0)
        sample = Table("keys_without_ttl", "Keys without a TTL (sample)", ["key"], key=("key",))
        for key in without:
            sample.add(key_text(key))
        if counts[NO_TTL] > len(without):
            sample.total_rows = counts[NO_TTL]
        stats = {
            "min_ttl_s": min(ttls, default=None),
            "avg_ttl_s": round(sum(ttls) / len(ttls), 1) if ttls else None,
            "max_ttl_s": max(ttls, default=None),
        }
        checks = [
            Check(
                "no_ttl_percent",
                "Keys without a TTL",
                share,
                level(share, warning=threshold),
                f"warning ≥ {threshold:g} %",
                "%",
            ),
            Check("keys_counted", "Keys counted", keys, unit="keys"),
            Check("scan_complete", "Scan complete", "yes" if scan.finished else "no"),
        ]
        pattern = params["pattern"]
        if not keys:
            summary = f"no keys match {pattern!r} ({scan.describe()})"
        else:
            summary = (
                f"{keys} keys matching {pattern!r} ({scan.describe()}): {counts[NO_TTL]} "
                f"({share:g} %) without TTL"
            )
            if ttls:
                low, mean, high = (
                    human_duration(stats[f"{n}_ttl_s"]) for n in ("min", "avg", "max")
                )
                summary += f"; TTL min {low}, avg {mean}, max {high}"
        raw = {"keys": keys, "scanned": scan.scanned, "finished": scan.finished, **stats}
        raw["buckets"] = counts
        return ProbeResult.from_checks(
            summary, checks, tables=[buckets, sample], warnings=scan.incomplete_warning(), raw=raw
        )
