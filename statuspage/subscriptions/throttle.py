"""Polite limits on the public subscribe form, counted in the Django cache (Redis in production).

Two limits: subscribe requests per client IP per hour (the view answers 429 above), and at most
one confirmation-type email per address per `MAIL_INTERVAL_S` (so nobody can use the form to
flood a stranger's inbox from many IPs). Counters use add() then incr(), atomic on Redis. The
status page must keep working when Redis is down, so a cache error lets the request through.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

WINDOW_S = 3600
MAIL_INTERVAL_S = 60


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after_s: int


def subscribe_attempt(client: str, *, now: datetime) -> Verdict:
    """Count one subscribe request from `client` (an IP) in the current hour."""
    epoch = int(now.timestamp())
    bucket = epoch // WINDOW_S
    key = f"statuspage:subscribe:ip:{_digest(client)}:{bucket}"
    retry_after = WINDOW_S - epoch % WINDOW_S
    try:
        cache.add(key, 0, timeout=WINDOW_S + 60)
        count = cache.incr(key)
    except Exception as exc:  # Redis down, or the key evicted between add and incr
        logger.warning("subscribe rate limit not counted: %r", exc)
        return Verdict(True, 0)
    return Verdict(count <= settings.STATUSPAGE_SUBSCRIBE_PER_HOUR, retry_after)


def mail_key(address: str) -> str:
    return f"statuspage:subscribe:mail:{_digest(address)}"


def mail_allowed(address: str) -> bool:
    """True at most once per MAIL_INTERVAL_S for one address."""
    try:
        return bool(cache.add(mail_key(address), 1, timeout=MAIL_INTERVAL_S))
    except Exception as exc:
        logger.warning("subscribe mail throttle not checked: %r", exc)
        return True


def _digest(value: str) -> str:
    # Addresses and IPs are personal data: keep only a hash in Redis.
    return hashlib.sha256(value.encode()).hexdigest()[:32]
