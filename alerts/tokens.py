"""Integration tokens: random, shown once, stored only as a sha256 digest."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "opi_"


def token_new() -> str:
    # 32 hex characters after the prefix: the length of a PagerDuty integration key, so clients
    # that validate routing keys by length accept ours.
    return TOKEN_PREFIX + secrets.token_hex(16)


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def token_display_prefix(raw: str) -> str:
    return raw[: len(TOKEN_PREFIX) + 6]
