"""Per-integration rate limit: a fixed one-minute window counted atomically in Redis.

INCRBY and EXPIRE go in one Lua script (one round trip, one command). DRF's throttles
read-then-write the cache, which lets concurrent requests through together; INCRBY does not.
Without Redis (the embedded `make run` setup) the Django cache counts instead, per process. If
Redis is down we accept rather than turn alerts away during the very outage they report.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60
# Count, (re)arm the expiry, return the count: what a MULTI of INCRBY + EXPIRE did, as one
# command (EVALSHA), which costs the web process less than a two-command pipeline.
_COUNT = """
local used = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return used
"""
_client = None
_count_script = None


def _redis():
    global _client
    if _client is None:
        import redis

        _client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=0.25, socket_timeout=0.5
        )
    return _client


def _count(key: str, count: int) -> int:
    global _count_script
    if _count_script is None:
        # Script objects send EVALSHA and load the script themselves if Redis lost it.
        _count_script = _redis().register_script(_COUNT)
    return int(_count_script(keys=[key], args=[count, WINDOW_SECONDS + 5]))


def limit_for(per_minute: int) -> int:
    return per_minute or settings.ALERTS_RATE_LIMIT_PER_MINUTE


def _window(integration_id: int, now: float) -> tuple[str, int]:
    """The counter's key for the minute `now` falls in, and seconds until that minute ends."""
    window = int(now // WINDOW_SECONDS)
    key = f"ops:alerts:rate:{integration_id}:{window}"
    return key, max(1, int((window + 1) * WINDOW_SECONDS - now + 0.999))


def consume(
    *, integration_id: int, count: int, per_minute: int, now: float | None = None
) -> int | None:
    """Count `count` alerts; None if within the limit, else seconds until the window resets."""
    limit = limit_for(per_minute)
    key, retry_after = _window(integration_id, time.time() if now is None else now)
    try:
        if settings.REDIS_URL:
            used = _count(key, count)
        else:
            cache.add(key, 0, WINDOW_SECONDS + 5)
            used = cache.incr(key, count)
    except Exception:
        logger.warning("rate limiter unavailable; accepting", exc_info=True)
        return None
    return retry_after if used > limit else None


def refund(*, integration_id: int, count: int, now: float) -> None:
    """Take back what `consume(..., now=now)` counted for a request that was then not taken."""
    key, _ = _window(integration_id, now)
    try:
        if settings.REDIS_URL:
            _redis().decrby(key, count)
        else:
            cache.decr(key, count)
    except Exception:
        logger.warning("could not refund the rate limiter", exc_info=True)
