"""Per-integration rate limit: a fixed one-minute window counted atomically in Redis.

INCRBY and EXPIRE go in one pipeline (one round trip). DRF's throttles read-then-write the
cache, which lets concurrent requests through together; INCRBY does not. Without Redis (the
embedded `make run` setup) the Django cache counts instead, per process. If Redis is down we
accept rather than turn alerts away during the very outage they report.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60
_client = None


def _redis():
    global _client
    if _client is None:
        import redis

        _client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=0.25, socket_timeout=0.5
        )
    return _client


def limit_for(per_minute: int) -> int:
    return per_minute or settings.ALERTS_RATE_LIMIT_PER_MINUTE


def consume(*, integration_id: int, count: int, per_minute: int) -> int | None:
    """Count `count` alerts; None if within the limit, else seconds until the window resets."""
    limit = limit_for(per_minute)
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    key = f"ops:alerts:rate:{integration_id}:{window}"
    retry_after = max(1, int((window + 1) * WINDOW_SECONDS - now + 0.999))
    try:
        if settings.REDIS_URL:
            pipe = _redis().pipeline(transaction=False)
            pipe.incrby(key, count)
            pipe.expire(key, WINDOW_SECONDS + 5)
            used = pipe.execute()[0]
        else:
            cache.add(key, 0, WINDOW_SECONDS + 5)
            used = cache.incr(key, count)
    except Exception:
        logger.warning("rate limiter unavailable; accepting", exc_info=True)
        return None
    return retry_after if used > limit else None
