"""Server-side cache of the public bodies, invalidated by a version key on every write.

Each body is cached under `statuspage:<version>:<name>`; `invalidate()` replaces the version with
a fresh random one, so every body is rebuilt on its next request and old entries simply expire.
A random version (not a counter) cannot repeat after the key is evicted, so an evicted version
never resurrects old bodies.

In front of Redis each process keeps the current version's bodies in memory (each no longer
than its Redis entry lives) and reads the version key again at most every
VERSION_CHECK_SECONDS: a surge of readers is served without a round trip, and a write made by
another process is seen within that time. A write made by this process (`invalidate()`)
empties its memory at once.

Each body also carries the second it last changed, for `Last-Modified` (see `_last_modified`),
and its gzip encoding, compressed once when the body is built.

The status page is read hardest when things break, Redis included: if the cache is unreachable
the body is built from the database and served anyway (and kept in memory for the same short
time, so an outage of Redis does not turn every read into a build).
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from prometheus_client import Counter
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

VERSION_KEY = "statuspage:version"
# Per body name, across versions: {"etag", "at"} of the last content built under that name.
MODIFIED_KEY = "statuspage:modified:{name}"
# Far longer than any body lives in the cache; once it expires, the next date is simply "now".
MODIFIED_SECONDS = 7 * 24 * 3600
# How long a process trusts the version it last read: the most a write made elsewhere takes to
# show here (the bound is 1 s).
VERSION_CHECK_SECONDS = 0.5
# Bodies kept in memory per process, least recently served dropped first. The public names are
# a dozen bodies plus incident and month pages; this bounds what a crawler of old incidents
# can make a process hold.
MEMORY_BODIES = 32
# The version used while Redis is unreachable: this process's alone, new at every check.
_LOCAL = "local:"
_CACHE_ERRORS = (RedisError, OSError)

READS = Counter(
    "opsportal_statuspage_cache_reads_total",
    "Reads of the public status-page cache, by the layer that answered: process memory, Redis "
    "(the version key or a body) or the database (a body built).",
    ["layer"],
)
_FROM_MEMORY, _FROM_REDIS, _FROM_DATABASE = (
    READS.labels(layer) for layer in ("memory", "redis", "database")
)


@dataclass(frozen=True)
class Body:
    content: bytes
    etag: str
    # When the content last changed, in whole Unix seconds; None when the cache is unreachable.
    last_modified: int | None = None
    # `content` gzip-compressed, for clients that accept it.
    gzipped: bytes = b""


class _Memory:
    """This process's copy of one version's bodies, each until its Redis entry would expire."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.version: str | None = None
        self.checked_at = 0.0  # time.monotonic() of the version read
        # Bumped by forget(): a version read that began before it must not be kept.
        self.generation = 0
        # name -> (body, Unix time it expires)
        self.bodies: OrderedDict[str, tuple[Body, float]] = OrderedDict()

    def fresh_version(self, clock: float) -> str | None:
        """The version if it was read less than VERSION_CHECK_SECONDS ago (caller holds lock)."""
        if self.version is not None and 0 <= clock - self.checked_at < VERSION_CHECK_SECONDS:
            return self.version
        return None

    def lookup(self, name: str, clock: float, now: float) -> tuple[str | None, Body | None]:
        """(the version, if fresh; the body `name` kept under it, if any)."""
        with self.lock:
            version = self.fresh_version(clock)
            return version, self._get(version, name, now)

    def get(self, version: str, name: str, now: float) -> Body | None:
        with self.lock:
            return self._get(version, name, now)

    def _get(self, version: str | None, name: str, now: float) -> Body | None:
        if version is None or version != self.version:
            return None
        kept = self.bodies.get(name)
        if kept is None:
            return None
        if kept[1] <= now:
            del self.bodies[name]
            return None
        self.bodies.move_to_end(name)
        return kept[0]

    def checked(self, version: str, clock: float, generation: int) -> None:
        with self.lock:
            if generation != self.generation:
                return  # invalidated while the version was read: the next read asks again
            if version != self.version:
                self.version = version
                self.bodies.clear()
            self.checked_at = clock

    def remember(self, version: str, name: str, body: Body, expires: float) -> None:
        with self.lock:
            if version != self.version:
                return  # a newer version was read meanwhile: this body may be older than it
            self.bodies[name] = (body, expires)
            self.bodies.move_to_end(name)
            while len(self.bodies) > MEMORY_BODIES:
                self.bodies.popitem(last=False)

    def forget(self) -> None:
        with self.lock:
            self.generation += 1
            self.version = None
            self.bodies.clear()


_memory = _Memory()


def _version() -> str:
    version = cache.get(VERSION_KEY)
    if version is None:
        version = uuid.uuid4().hex
        if not cache.add(VERSION_KEY, version, timeout=None):
            version = cache.get(VERSION_KEY) or version
    return version


def _current_version(clock: float) -> str:
    """The version to serve under: remembered, or read from Redis (a local one if it is down)."""
    with _memory.lock:
        version = _memory.fresh_version(clock)
        generation = _memory.generation
    if version is not None:
        return version
    try:
        version = _version()
        _FROM_REDIS.inc()
    except _CACHE_ERRORS:
        log.warning("status page cache unreachable: serving from the database")
        version = _LOCAL + uuid.uuid4().hex
    _memory.checked(version, clock, generation)
    return version


def invalidate() -> None:
    """Make every cached public body stale, in this process at once and elsewhere within
    VERSION_CHECK_SECONDS."""
    try:
        cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)
    except _CACHE_ERRORS:
        log.warning("status page cache unreachable: could not invalidate", exc_info=True)
    # After the new version is in Redis: a read starting now can only find that one.
    _memory.forget()


def invalidate_now_and_on_commit() -> None:
    """Invalidate at once and again when the writing transaction commits.

    The first bump serves readers of the writing transaction itself; a request running
    between it and the commit still sees the old rows and may cache them under the new
    version, which the second bump throws away.
    """
    invalidate()
    transaction.on_commit(invalidate)


def _body(content: str) -> Body:
    data = content.encode()
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    # mtime=0: the same content always compresses to the same bytes.
    return Body(content=data, etag=f'"{digest}"', gzipped=gzip.compress(data, 9, mtime=0))


def _last_modified(name: str, etag: str, now: float) -> int:
    """The second the content of body `name` last changed.

    HTTP dates have whole seconds, and the page can change several times in one (a component
    status and a public update): two different bodies must never share a date, or a client
    holding the first would get 304 for the second. So the last date and ETag are kept per name
    across cache versions: the same content rebuilt keeps its date (revalidation stays a 304),
    a different content gets a later second than the last one, even if that second has not
    come yet (`cached_response` leaves such a date out until it has).
    """
    key = MODIFIED_KEY.format(name=name)
    seen = cache.get(key)
    if seen is not None and seen["etag"] == etag:
        return seen["at"]
    at = max(int(now), seen["at"] + 1 if seen is not None else 0)
    cache.set(key, {"etag": etag, "at": at}, timeout=MODIFIED_SECONDS)
    return at


def _from_redis(key: str, now: float) -> tuple[Body, float] | None:
    """The body stored under `key`, and when it was built (Unix time)."""
    hit = cache.get(key)
    if hit is None:
        return None
    _FROM_REDIS.inc()
    # Plain values, not pickled classes: a deploy that changes Body never breaks a read.
    content = hit["content"]
    gzipped = hit.get("gzipped") or gzip.compress(content, 9, mtime=0)
    body = Body(content, hit["etag"], hit.get("last_modified"), gzipped)
    return body, hit.get("built_at", now)


def _build_and_store(
    key: str, name: str, build: Callable[[], str], now: float
) -> tuple[Body, bool]:
    """The body built, and whether it was stored (with its date) in Redis."""
    body = _body(build())
    _FROM_DATABASE.inc()
    try:
        at = _last_modified(name, body.etag, now)
        body = Body(body.content, body.etag, at, body.gzipped)
        cache.set(
            key,
            {
                "content": body.content,
                "etag": body.etag,
                "last_modified": at,
                "gzipped": body.gzipped,
                "built_at": now,
            },
            timeout=settings.STATUSPAGE_CACHE_SECONDS,
        )
    except _CACHE_ERRORS:
        log.warning("status page cache unreachable: %s not stored", name)
        return body, False
    return body, True


def cached_body(
    name: str, build: Callable[[], str], *, now: float | None = None, clock: float | None = None
) -> Body:
    """The body `name` from memory, Redis, or built by `build()` and cached.

    `now`: Unix time (Last-Modified, expiry); `clock`: time.monotonic() (the version check).
    """
    now = time.time() if now is None else now
    clock = time.monotonic() if clock is None else clock
    version, body = _memory.lookup(name, clock, now)
    if version is None:
        version = _current_version(clock)
        # Usually the same version as before: the bodies in memory are still good.
        body = _memory.get(version, name, now)
    if body is not None:
        _FROM_MEMORY.inc()
        return body
    built_at = now
    if version.startswith(_LOCAL):
        body = _body(build())
        _FROM_DATABASE.inc()
    else:
        key = f"statuspage:{version}:{name}"
        try:
            stored = _from_redis(key, now)
        except _CACHE_ERRORS:
            log.warning("status page cache unreachable: serving %s from the database", name)
            _FROM_DATABASE.inc()
            return _body(build())
        if stored is None:
            body, kept = _build_and_store(key, name, build, now)
            if not kept:
                return body  # without its date: the next read tries Redis again
        else:
            body, built_at = stored
    # No longer than Redis keeps it: STATUSPAGE_CACHE_SECONDS still bounds what a forgotten
    # invalidation costs.
    expires = min(built_at, now) + settings.STATUSPAGE_CACHE_SECONDS
    if expires > now:
        _memory.remember(version, name, body, expires)
    return body
