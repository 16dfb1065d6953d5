"""Server-side cache of the public bodies, invalidated by a version key on every write.

Each body is cached under `statuspage:<version>:<name>`; `invalidate()` replaces the version with
a fresh random one, so every body is rebuilt on its next request and old entries simply expire.
A random version (not a counter) cannot repeat after the key is evicted, so an evicted version
never resurrects old bodies.

The status page is read hardest when things break, Redis included: if the cache is unreachable
the body is built from the database and served anyway.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

VERSION_KEY = "statuspage:version"
_CACHE_ERRORS = (RedisError, OSError)


@dataclass(frozen=True)
class Body:
    content: bytes
    etag: str


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


def cached_body(name: str, build: Callable[[], str]) -> Body:
    """The body `name` from the cache, or built by `build()` and cached."""
    try:
        key = f"statuspage:{_version()}:{name}"
        hit = cache.get(key)
    except _CACHE_ERRORS:
        log.warning("status page cache unreachable: serving %s from the database", name)
        return _body(build())
    if hit is not None:
        # Plain values, not pickled classes: a deploy that changes Body never breaks a read.
        return Body(content=hit["content"], etag=hit["etag"])
    body = _body(build())
    try:
        cache.set(
            key,
            {"content": body.content, "etag": body.etag},
            timeout=settings.STATUSPAGE_CACHE_SECONDS,
        )
    except _CACHE_ERRORS:
        log.warning("status page cache unreachable: %s not stored", name)
    return body
