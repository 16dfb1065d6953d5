"""redis.delete_keys against real servers.

Database 15 of the shared test Redis (flushed before and after) holds 10,000 keys of which an
exact number match the pattern, so counts are exact. Which commands were sent (SCAN and UNLINK,
never KEYS, and how many UNLINK batches) is read from INFO commandstats of a private
redis-server nobody else talks to: the shared server's counters include other test runs.
"""

from __future__ import annotations

import math
import os

import pytest
import redis
from rest_framework import serializers

import diagnostics.actions.redis  # noqa: F401  (registers the action)
from catalog.models import Target
from catalog.target_configs import validate_target_config
from diagnostics.actions import registry
from diagnostics.actions.base import ActionRefused
from tests.diagnostics.peers.redis_scratch import (
    flushed_probe_db,
    private_redis,
    probe_db_url,
    redis_server_binary,
)

pytestmark = pytest.mark.redis

DELETE_KEYS = registry.get("redis.delete_keys")
URL_ENV = "ACTION_TEST_REDIS_URL"
TOTAL = 10_000
MATCHING = 1234
PATTERN = "session:*"


@pytest.fixture
def db15(monkeypatch):
    monkeypatch.setenv(URL_ENV, probe_db_url())
    with flushed_probe_db() as client:
        yield client


def redis_target() -> Target:
    config = validate_target_config("redis", {"url_env": URL_ENV})
    return Target(kind="redis", name="cache", config=config)


def preview(params: dict, timeout_s: float = 10):
    return DELETE_KEYS.preview(redis_target(), DELETE_KEYS.validate_params(params), timeout_s)


def execute(params: dict, stored: dict, timeout_s: float = 10):
    target, valid = redis_target(), DELETE_KEYS.validate_params(params)
    return DELETE_KEYS.execute(target, valid, stored, timeout_s)


def fill(client: redis.Redis, matching: int = MATCHING, total: int = TOTAL) -> set[bytes]:
    """`matching` keys under session:* (strings with a TTL, hashes, sets) and near misses up to
    `total`; returns the names of the keys that must survive."""
    pipe = client.pipeline(transaction=False)
    for i in range(matching):
        key = f"session:{i}"
        if i % 3 == 0:
            pipe.set(key, "x", ex=3600)
        elif i % 3 == 1:
            pipe.hset(key, mapping={"user": str(i)})
        else:
            pipe.sadd(key, "a", "b")
    survivors = set()
    misses = ("sessions:{}", "user:session:{}", "Session:{}", "cache:{}")
    for i in range(total - matching):
        key = misses[i % len(misses)].format(i)
        pipe.set(key, "y")
        survivors.add(key.encode())
    pipe.execute()
    assert client.dbsize() == total
    return survivors


def test_delete_keys_removes_exactly_the_matching_keys_in_batches(db15):
    survivors = fill(db15)

    shown = preview({"pattern": PATTERN})

    assert db15.dbsize() == TOTAL  # the preview deleted nothing
    details = shown.details
    assert {k: v for k, v in details.items() if k != "sample"} == {
        "pattern": PATTERN, "count": MATCHING, "count_exact": True,
        "commands": "SCAN MATCH session:* COUNT 1000 + UNLINK in batches of 500",
        "batches": math.ceil(MATCHING / 500), "max_keys": 10_000,
    }  # fmt: skip
    assert len(details["sample"]) == 20
    for entry in details["sample"]:
        key = entry["key"].encode()
        assert key.startswith(b"session:") and key not in survivors
        assert entry["type"] == db15.type(key).decode()
        if entry["type"] == "string":
            assert entry["expires"] and 0 < entry["ttl_s"] <= 3600
        else:
            assert entry == {"key": entry["key"], "type": entry["type"], "ttl_s": None,
                             "expires": False, "exists": True}  # fmt: skip
    assert shown.summary == f"Delete {MATCHING} key(s) matching 'session:*' on 127.0.0.1:6379/15"
    assert (shown.changes[0].before, shown.changes[0].after) == (str(MATCHING), 0)
    assert shown.basis == {"pattern": PATTERN}

    result = execute({"pattern": PATTERN}, shown.as_dict())

    assert result.ok
    assert result.summary == f"deleted {MATCHING} key(s) matching 'session:*' in 3 batch(es)"
    assert result.details == {"pattern": PATTERN, "matched": MATCHING, "deleted": MATCHING,
                              "batches": 3, "batch_size": 500, "more_may_match": False}  # fmt: skip
    assert set(db15.scan_iter(count=1000)) == survivors

    again = execute({"pattern": PATTERN}, shown.as_dict())

    assert again.ok and again.summary == "no key matches 'session:*' any more: nothing deleted"
    assert again.details["deleted"] == 0 and again.details["batches"] == 0
    assert db15.dbsize() == TOTAL - MATCHING


def test_delete_keys_refuses_when_more_keys_match_than_max_keys(db15):
    fill(db15)

    with pytest.raises(ActionRefused) as refused:
        preview({"pattern": PATTERN, "max_keys": 1000})

    assert str(refused.value) == (
        "more than 1000 keys match 'session:*'; raise max_keys (at most 1000000) or narrow "
        "the pattern"
    )
    assert db15.dbsize() == TOTAL


def test_delete_keys_never_deletes_more_than_max_keys(db15):
    """Keys written after the preview: execution still stops at max_keys."""
    fill(db15, matching=300, total=400)
    shown = preview({"pattern": PATTERN, "max_keys": 300, "batch_size": 100})
    assert shown.details["count"] == 300
    db15.set("session:late", "z")  # one more than the preview counted

    result = execute({"pattern": PATTERN, "max_keys": 300, "batch_size": 100}, shown.as_dict())

    assert result.details["deleted"] == 300 and result.details["batches"] == 3
    assert result.details["more_may_match"] is True
    assert result.summary.endswith("; stopped at max_keys (300): more keys may match, run it again")
    assert len(list(db15.scan_iter(match=PATTERN))) == 1


def test_delete_keys_preview_of_a_pattern_nothing_matches(db15):
    fill(db15, matching=0, total=50)
    shown = preview({"pattern": "nothing:*"})
    assert shown.details["count"] == 0 and shown.details["sample"] == []
    assert shown.summary == "No key of 127.0.0.1:6379/15 matches 'nothing:*': nothing to delete"
    assert execute({"pattern": "nothing:*"}, shown.as_dict()).details["deleted"] == 0
    assert db15.dbsize() == 50


@pytest.mark.parametrize("pattern", ["*", "**"])
def test_a_pattern_matching_every_key_needs_allow_all(pattern):
    with pytest.raises(serializers.ValidationError) as invalid:
        DELETE_KEYS.validate_params({"pattern": pattern})
    assert invalid.value.detail["pattern"] == [
        "Matches every key in the database; set allow_all to confirm."
    ]
    assert DELETE_KEYS.validate_params({"pattern": pattern, "allow_all": True})["allow_all"]


@pytest.mark.parametrize(
    "params, field",
    [
        ({}, "pattern"),
        ({"pattern": ""}, "pattern"),
        ({"pattern": "a:*", "max_keys": 1_000_001}, "max_keys"),
        ({"pattern": "a:*", "batch_size": 0}, "batch_size"),
    ],
)
def test_delete_keys_params_are_validated(params, field):
    with pytest.raises(serializers.ValidationError) as invalid:
        DELETE_KEYS.validate_params(params)
    assert field in invalid.value.detail


def test_delete_keys_defaults():
    assert DELETE_KEYS.validate_params({"pattern": "a:*"}) == {
        "pattern": "a:*", "allow_all": False, "max_keys": 10_000, "batch_size": 500,
    }  # fmt: skip


@pytest.fixture
def private(monkeypatch):
    if redis_server_binary() is None:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("REQUIRE_SERVICES=1 but redis-server is not installed", pytrace=False)
        pytest.skip("needs the redis-server binary (apt-get install redis-server)")
    with private_redis() as url:
        monkeypatch.setenv(URL_ENV, url)
        client = redis.Redis.from_url(url)
        yield client
        client.close()


def calls(client: redis.Redis) -> dict[str, int]:
    stats = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): stat["calls"] for name, stat in stats.items()}


def test_delete_keys_sends_scan_and_batched_unlink_never_keys(private):
    fill(private, matching=250, total=1000)
    private.config_resetstat()

    shown = preview({"pattern": PATTERN, "batch_size": 100})
    during_preview = calls(private)
    private.config_resetstat()
    result = execute({"pattern": PATTERN, "batch_size": 100}, shown.as_dict())
    during_execute = calls(private)

    # The preview only reads: SCAN, then TYPE and TTL of the 20 sampled keys (HELLO and
    # CLIENT SETINFO are the client's connection handshake, INFO is this test's).
    handshake = {"hello", "client|setinfo", "info", "config|resetstat"}
    assert set(during_preview) - handshake == {"scan", "type", "ttl"}
    assert during_preview["type"] == during_preview["ttl"] == 20
    assert during_execute["unlink"] == 3 == result.details["batches"]
    assert "keys" not in during_preview and "keys" not in during_execute
    assert during_execute["scan"] >= 1
    assert private.dbsize() == 750
