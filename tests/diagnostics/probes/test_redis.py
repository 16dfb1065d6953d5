"""Redis probes against real servers.

Key-level tests (big keys, TTLs) use database 15 of the shared test Redis, flushed before and
after, so their counts are exact. Server-wide numbers are another matter: INFO's hit and miss
counters and memory figures cover every database, and other test runs use the shared server at
the same time. So the shared-server hit-rate test asserts lower bounds on the counters and that
the rate is computed exactly from the counters the probe read; the exact-number tests (hit
rate, maxmemory, evictions, OOM rejections) run on a private redis-server nobody else talks to,
which also keeps `CONFIG SET maxmemory` off the shared server.
"""

from __future__ import annotations

import os
import socket
from contextlib import ExitStack

import pytest
import redis
from rest_framework import serializers

from catalog.models import Target
from catalog.target_configs import validate_target_config
from diagnostics.probes import registry
from diagnostics.probes.base import ProbeConfigError, ProbeUnreachable, Status
from tests.diagnostics.peers.redis_scratch import (
    flushed_probe_db,
    private_redis,
    probe_db_url,
    redis_server_binary,
)

pytestmark = pytest.mark.redis

MEMORY = registry.get("redis.memory")
HIT_RATE = registry.get("redis.hit_rate")
BIG_KEYS = registry.get("redis.big_keys")
TTL = registry.get("redis.ttl_distribution")
URL_ENV = "PROBE_TEST_REDIS_URL"
DAY = 86_400


@pytest.fixture
def db15(monkeypatch):
    monkeypatch.setenv(URL_ENV, probe_db_url())
    with flushed_probe_db() as client:
        yield client


@pytest.fixture
def private(monkeypatch):
    """Start a private redis-server with the given settings; the probe's env var points at it."""
    if redis_server_binary() is None:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("REQUIRE_SERVICES=1 but redis-server is not installed", pytrace=False)
        pytest.skip("needs the redis-server binary (apt-get install redis-server)")
    with ExitStack() as servers:

        def start(*settings_args: str) -> redis.Redis:
            url = servers.enter_context(private_redis(*settings_args))
            monkeypatch.setenv(URL_ENV, url)
            client = redis.Redis.from_url(url)
            servers.callback(client.close)
            return client

        yield start


def redis_target(**config) -> Target:
    config = validate_target_config("redis", {"url_env": URL_ENV, **config})
    return Target(kind="redis", name="cache", config=config)


def run(probe, params: dict | None = None, target: Target | None = None, timeout_s: float = 10):
    return probe.run(target or redis_target(), probe.validate_params(params or {}), timeout_s)


def records(result, name: str) -> list[dict]:
    table = next(t for t in result.tables if t.name == name)
    return [dict(zip(table.columns, row, strict=True)) for row in table.rows]


def check(result, name: str):
    return next(c for c in result.checks if c.name == name)


# --- redis.memory -----------------------------------------------------------------------------


def test_memory_without_maxmemory_says_there_is_no_limit(private):
    private()

    result = run(MEMORY)

    usage = check(result, "used_memory_percent")
    assert (usage.value, usage.status) == (None, Status.OK)
    assert usage.threshold.startswith("no maxmemory limit")
    assert result.raw["maxmemory"] == 0
    assert result.raw["maxmemory_policy"] == "noeviction"
    assert "used, no maxmemory limit, policy noeviction" in result.summary
    # A near-empty server has a high RSS/used ratio that means nothing: not a warning.
    assert result.raw["mem_fragmentation_ratio"] > 1.5
    assert check(result, "fragmentation_ratio").status == Status.OK
    assert result.status == Status.OK
    assert result.warnings == []
    # Counted as waste from the first byte, the same ratio is a warning.
    strict = run(MEMORY, {"fragmentation_min_excess_mb": 0})
    assert check(strict, "fragmentation_ratio").status == Status.WARNING
    assert check(strict, "fragmentation_ratio").threshold == (
        "warning > 1.5 when RSS exceeds used memory by ≥ 0 MiB"
    )


def test_memory_at_maxmemory_with_evictions_is_critical_and_explained(private):
    client = private("--maxmemory", "4mb", "--maxmemory-policy", "allkeys-lru")
    for number in range(200):
        client.set(f"fill:{number}", b"x" * 50_000)
    before = client.info("stats")["evicted_keys"]

    result = run(MEMORY, target=redis_target(memory_warning_percent=70))

    # Every command on a full allkeys-lru server may evict (the probe's own too): bounds.
    evicted = result.raw["evicted_keys"]
    assert 0 < before <= evicted <= client.info("stats")["evicted_keys"]
    assert result.raw["maxmemory"] == 4 * 1024**2
    usage = check(result, "used_memory_percent")
    assert usage.value == round(100 * result.raw["used_memory"] / (4 * 1024**2), 1)
    assert usage.value >= 95
    assert usage.status == Status.CRITICAL
    assert usage.threshold == (
        "warning ≥ 70 % (target memory_warning_percent), critical ≥ 95 % of 4.0 MiB"
    )
    assert check(result, "evicted_keys").status == Status.WARNING
    assert result.status == Status.CRITICAL
    assert result.warnings == [
        "Redis is at maxmemory and evicts keys (allkeys-lru): cached data is dropped early, "
        "which shows up as cache misses."
    ]
    assert f"{evicted} keys evicted since restart or CONFIG RESETSTAT" in result.summary


def test_memory_with_noeviction_counts_rejected_writes_and_explains_old_evictions(private):
    client = private("--maxmemory", "4mb", "--maxmemory-policy", "allkeys-lru")
    for number in range(200):
        client.set(f"fill:{number}", b"x" * 50_000)
    client.config_set("maxmemory-policy", "noeviction")
    evicted = client.info("stats")["evicted_keys"]  # frozen from here on
    rejected = 0
    for number in range(5):
        try:
            client.set(f"more:{number}", b"y" * 100_000)
        except redis.exceptions.OutOfMemoryError:
            rejected += 1

    result = run(MEMORY, {"critical_percent": 100}, target=redis_target(memory_warning_percent=90))

    assert rejected == 5
    assert check(result, "oom_rejections").value == 5
    assert check(result, "oom_rejections").status == Status.WARNING
    assert result.warnings == [
        f"{evicted} keys were evicted although the policy is now noeviction: the counter runs "
        "since restart or CONFIG RESETSTAT, so they were evicted under an earlier policy.",
        "With maxmemory-policy noeviction a full Redis does not evict: it rejects writes with "
        "OOM errors.",
    ]
    assert result.status in (Status.WARNING, Status.CRITICAL)


def test_memory_on_the_shared_server_reports_its_info_fields(db15):
    result = run(MEMORY)

    for name in ("used_memory", "used_memory_peak", "used_memory_rss", "maxmemory"):
        assert isinstance(result.raw[name], int)
    assert result.raw["used_memory_peak"] >= result.raw["used_memory"] > 0
    assert result.status in Status.CHOICES and result.status != Status.ERROR


def test_memory_critical_percent_is_a_param():
    with pytest.raises(serializers.ValidationError):
        MEMORY.validate_params({"critical_percent": 0})


# --- redis.hit_rate ---------------------------------------------------------------------------


def lookups(client: redis.Redis, hits: int, misses: int) -> None:
    client.set("present", "1")
    for _ in range(hits):
        assert client.get("present") == b"1"
    for number in range(misses):
        assert client.get(f"absent:{number}") is None


def test_hit_rate_is_exact_on_a_server_nobody_else_uses(private):
    client = private()
    client.config_resetstat()
    lookups(client, hits=6, misses=4)

    warning = run(HIT_RATE, {"min_lookups": 1})
    client.config_resetstat()
    lookups(client, hits=1, misses=3)
    critical = run(HIT_RATE, {"min_lookups": 1})

    assert (warning.raw["keyspace_hits"], warning.raw["keyspace_misses"]) == (6, 4)
    assert check(warning, "hit_rate_percent").value == 60.0
    assert warning.status == Status.WARNING
    assert warning.summary.startswith(
        "hit rate 60 % (6 hits, 4 misses since restart or CONFIG RESETSTAT; uptime "
    )
    assert warning.summary.endswith("; 1 keys in 1 database(s)")
    assert records(warning, "keyspace") == [{"db": 0, "keys": 1, "expires": 0, "avg_ttl_ms": 0}]
    assert check(critical, "hit_rate_percent").value == 25.0
    assert critical.status == Status.CRITICAL
    assert check(critical, "hit_rate_percent").threshold == (
        "warning < 80 %, critical < 50 % (judged from 1 lookups on)"
    )


def test_hit_rate_with_too_few_lookups_is_reported_but_not_judged(private):
    client = private()
    client.config_resetstat()
    lookups(client, hits=1, misses=3)

    result = run(HIT_RATE)  # min_lookups 100 by default

    assert check(result, "hit_rate_percent").value == 25.0
    assert result.status == Status.OK
    assert "too few lookups to judge (< 100)" in result.summary


def test_hit_rate_on_the_shared_server_counts_at_least_our_lookups(db15):
    # INFO stats is server-wide and other test runs may look keys up at the same moment, so
    # only lower bounds hold here; the rate must still follow exactly from what was read.
    db15.config_resetstat()
    lookups(db15, hits=6, misses=4)

    result = run(HIT_RATE, {"min_lookups": 1})

    hits, misses = result.raw["keyspace_hits"], result.raw["keyspace_misses"]
    assert hits >= 6 and misses >= 4
    assert check(result, "hit_rate_percent").value == round(100 * hits / (hits + misses), 1)
    assert {"db": 15, "keys": 1, "expires": 0, "avg_ttl_ms": 0} in records(result, "keyspace")


def test_hit_rate_thresholds_must_not_be_inverted():
    with pytest.raises(serializers.ValidationError):
        HIT_RATE.validate_params({"warning_below_percent": 40, "critical_below_percent": 60})


# --- redis.big_keys ---------------------------------------------------------------------------


def fill_known_keys(client: redis.Redis) -> None:
    client.set("blob:big", b"b" * 200_000)
    client.set("blob:medium", b"m" * 50_000, ex=3600)
    client.hset("profile:1", mapping={f"field:{n}": "v" * 100 for n in range(100)})
    client.rpush("queue:jobs", *[b"j" * 200 for _ in range(50)])
    for number in range(100):
        client.set(f"small:{number}", number, ex=600 if number % 2 else None)


def test_big_keys_lists_the_largest_keys_in_order_with_type_and_ttl(db15):
    fill_known_keys(db15)
    expected = sorted(
        ((db15.memory_usage(key), key.decode()) for key in db15.scan_iter(count=1000)),
        key=lambda entry: (-entry[0], entry[1]),
    )

    result = run(BIG_KEYS, {"limit": 4, "big_key_bytes": 100_000})

    rows = records(result, "largest_keys")
    assert [(row["bytes"], row["key"]) for row in rows] == expected[:4]
    assert [row["key"] for row in rows] == ["blob:big", "blob:medium", "profile:1", "queue:jobs"]
    assert [row["type"] for row in rows] == ["string", "string", "hash", "list"]
    assert rows[0]["ttl_s"] is None and 3590 <= rows[1]["ttl_s"] <= 3600
    assert [row["big"] for row in rows] == [True, False, False, False]
    assert check(result, "big_keys").value == 1
    assert check(result, "keys_scanned").value == 104 == db15.dbsize()
    assert check(result, "scan_complete").value == "yes"
    assert next(t for t in result.tables if t.name == "largest_keys").total_rows == 104
    assert result.status == Status.WARNING
    assert result.warnings == []
    assert result.summary == (
        f"104 keys matching '*' scanned (scan complete); largest blob:big "
        f"{rows[0]['bytes'] / 1024:.1f} KiB (string); 1 key(s) ≥ 97.7 KiB"
    )


def test_big_keys_below_the_default_threshold_is_ok_and_match_narrows_the_scan(db15):
    fill_known_keys(db15)

    result = run(BIG_KEYS, {"match": "blob:*"})

    assert [row["key"] for row in records(result, "largest_keys")] == ["blob:big", "blob:medium"]
    assert check(result, "keys_scanned").value == 2
    assert check(result, "big_keys").threshold == "warning ≥ 1 key of ≥ 10.0 MiB"
    assert result.status == Status.OK


def test_big_keys_stops_at_max_keys_scanned_and_says_the_result_is_a_sample(db15):
    fill_known_keys(db15)

    result = run(BIG_KEYS, {"max_keys_scanned": 10, "count": 10})

    assert check(result, "keys_scanned").value == 10
    assert check(result, "scan_complete").value == "no"
    assert result.warnings == [
        "The scan stopped at max_keys_scanned after 10 keys: the results are a sample. Raise "
        "max_keys_scanned or the timeout, or narrow the pattern."
    ]
    assert "(scan stopped by max_keys_scanned)" in result.summary


# --- redis.ttl_distribution -------------------------------------------------------------------


def fill_sessions(client: redis.Redis) -> None:
    pipe = client.pipeline()
    for number in range(10):
        pipe.set(f"sess:none:{number}", "s")
    for number in range(5):
        pipe.set(f"sess:minute:{number}", "s", ex=30)
    for number in range(3):
        pipe.set(f"sess:hour:{number}", "s", ex=1800)
    for number in range(2):
        pipe.set(f"sess:day:{number}", "s", ex=7200)
    for number in range(4):
        pipe.set(f"sess:long:{number}", "s", ex=2 * DAY)
    for number in range(3):
        pipe.set(f"other:{number}", "o")  # does not match the pattern
    pipe.execute()


def test_ttl_distribution_counts_every_bucket_exactly(db15):
    fill_sessions(db15)

    result = run(TTL, {"pattern": "sess:*"})

    assert records(result, "ttl_buckets") == [
        {"bucket": "< 1 m", "keys": 5, "percent": 20.8},
        {"bucket": "< 1 h", "keys": 3, "percent": 12.5},
        {"bucket": "< 1 d", "keys": 2, "percent": 8.3},
        {"bucket": "≥ 1 d", "keys": 4, "percent": 16.7},
        {"bucket": "none", "keys": 10, "percent": 41.7},
    ]
    assert sorted(row["key"] for row in records(result, "keys_without_ttl")) == [
        f"sess:none:{number}" for number in range(10)
    ]
    assert check(result, "no_ttl_percent").value == 41.7
    assert check(result, "keys_counted").value == 24
    assert result.status == Status.OK  # below the 50 % default
    assert 29 <= result.raw["min_ttl_s"] <= 30
    assert 2 * DAY - 1 <= result.raw["max_ttl_s"] <= 2 * DAY
    expected_avg = (5 * 30 + 3 * 1800 + 2 * 7200 + 4 * 2 * DAY) / 14
    assert expected_avg - 1 <= result.raw["avg_ttl_s"] <= expected_avg
    assert result.summary.startswith(
        "24 keys matching 'sess:*' (scan complete): 10 (41.7 %) without TTL; TTL min "
    )


def test_ttl_distribution_warns_when_too_many_keys_never_expire(db15):
    fill_sessions(db15)

    result = run(TTL, {"pattern": "sess:*", "no_ttl_warning_percent": 40, "sample_rows": 3})

    assert check(result, "no_ttl_percent").status == Status.WARNING
    assert result.status == Status.WARNING
    sample = next(t for t in result.tables if t.name == "keys_without_ttl")
    assert (len(sample.rows), sample.total_rows) == (3, 10)


def test_ttl_distribution_of_a_pattern_nothing_matches(db15):
    result = run(TTL, {"pattern": "nothing:*"})

    assert result.status == Status.OK
    assert result.summary == "no keys match 'nothing:*' (scan complete)"
    assert check(result, "no_ttl_percent").value is None


def test_ttl_distribution_needs_a_pattern():
    with pytest.raises(serializers.ValidationError) as caught:
        TTL.validate_params({})
    assert "pattern" in caught.value.detail


# --- connecting -------------------------------------------------------------------------------


@pytest.fixture
def closed_port():
    """A port bound but not listening: connections to it are refused, and nothing can take it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.mark.parametrize("probe", [MEMORY, HIT_RATE, BIG_KEYS], ids=lambda probe: probe.name)
def test_a_refused_connection_is_unreachable_without_the_password(monkeypatch, closed_port, probe):
    monkeypatch.setenv(URL_ENV, f"redis://:s3cr3t-pw@127.0.0.1:{closed_port}/0")

    with pytest.raises(ProbeUnreachable) as caught:
        run(probe)

    assert str(caught.value) == f"connection refused: 127.0.0.1:{closed_port}"


def test_a_server_that_never_answers_times_out(monkeypatch):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel completes the handshake; nobody ever reads or answers
        port = silent.getsockname()[1]
        monkeypatch.setenv(URL_ENV, f"redis://127.0.0.1:{port}/0")

        with pytest.raises(ProbeUnreachable) as caught:
            run(MEMORY, timeout_s=0.5)

    assert str(caught.value) == f"timed out waiting for 127.0.0.1:{port}"


def test_a_url_that_is_not_redis_is_a_config_error_that_does_not_quote_it(monkeypatch):
    monkeypatch.setenv(URL_ENV, "http://user:hunter2@cache:6379/0")

    with pytest.raises(ProbeConfigError) as caught:
        run(MEMORY)

    assert "hunter2" not in str(caught.value)
    assert str(caught.value) == (
        f"the URL in environment variable {URL_ENV} is not a valid redis://, rediss:// or "
        "unix:// URL"
    )


def test_a_missing_environment_variable_is_a_config_error(monkeypatch):
    monkeypatch.delenv(URL_ENV, raising=False)

    with pytest.raises(ProbeConfigError, match=f"environment variable {URL_ENV} is not set"):
        run(HIT_RATE)
