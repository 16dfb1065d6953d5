"""Server-side cache of the public bodies, invalidated by a version key on every write.

Each body is cached under `statuspage:<version>:<name>`; `invalidate()` replaces the version with
a fresh random one, so every body is rebuilt on its next request and old entries simply expire.
A random version (not a counter) cannot repeat after the key is evicted, so an evicted version
never resurrects old bodies.

Each body also carries the second it last changed, for `Last-Modified` (see `_last_modified`).

The status page is read hardest when things break, Redis included: if the cache is unreachable
the body is built from the database and served anyway.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

VERSION_KEY = "statuspage:version"
# Per body name, across versions: {"etag", "at"} of the last content built under that name.
MODIFIED_KEY = "statuspage:modified:{name}"
# Far longer than any body lives in the cache; once it expires, the next date is simply "now".
MODIFIED_SECONDS = 7 * 24 * 3600
_CACHE_ERRORS = (RedisError, OSError)


@dataclass(frozen=True)
class Body:
    content: bytes
    etag: str
    # When the content last changed, in whole Unix seconds; None when the cache is unreachable.
    last_modified: int | None = None


def _version() -> str:
    version = cache.get(VERSION_KEY)
    if version is None:
        version = uuid.uuid4().hex
        if not cache.add(VERSION_KEY, version, timeout=None):
            version = cache.get(VERSION_KEY) or version
    return version


def invalidate() -> None:
    """Make every cached public body stale."""
    try:
        cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)
    except _CACHE_ERRORS:
        log.warning("status page cache unreachable: could not invalidate", exc_info=True)


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
    return Body(content=data, etag=f'"{digest}"')


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


def cached_body(name: str, build: Callable[[], str], *, now: float | None = None) -> Body:
    """The body `name` from the cache, or built by `build()` and cached (`now`: Unix time)."""
    try:
        key = f"statuspage:{_version()}:{name}"
        hit = cache.get(key)
    except _CACHE_ERRORS:
        log.warning("status page cache unreachable: serving %s from the database", name)
        return _body(build())
    if hit is not None:
        # Plain values, not pickled classes: a deploy that changes Body never breaks a read.
        return Body(
            content=hit["content"], etag=hit["etag"], last_modified=hit.get("last_modified")
        )
    body = _body(build())
    try:
        at = _last_modified(name, body.etag, time.time() if now is None else now)
        body = Body(content=body.content, etag=body.etag, last_modified=at)
        cache.set(
            key,
            {"content": body.content, "etag": body.etag, "last_modified": at},
            timeout=settings.STATUSPAGE_CACHE_SECONDS,
        )
    except _CACHE_ERRORS:
        log.warning("status page cache unreachable: %s not stored", name)
    return body
