"""Signed tokens for the links we mail: confirm a subscription, unsubscribe from one.

django.core.signing (HMAC with SECRET_KEY) and a salt per purpose: a confirm token cannot be
used to unsubscribe or the other way round, and nothing is stored, so a database leak reveals no
working link. Tokens carry the subscriber id: every subscription is its own row (a new one after
unsubscribing), so an old link never acts on a newer subscription.

The confirm token carries its issue time in the signed payload (rather than relying on the
signer's own clock) so callers and tests pass `now=` like everywhere else.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core import signing
from django.utils import timezone

CONFIRM_SALT = "statuspage.subscriptions.confirm"
UNSUBSCRIBE_SALT = "statuspage.subscriptions.unsubscribe"
# A confirmation link older than this is refused; subscribing again sends a fresh one.
CONFIRM_MAX_AGE = timedelta(days=7)


class BadToken(Exception):
    """The token was tampered with, is for another purpose, or has expired."""


def confirm_token(subscriber_id: int, *, now: datetime | None = None) -> str:
    issued = int((now or timezone.now()).timestamp())
    return signing.dumps({"s": subscriber_id, "t": issued}, salt=CONFIRM_SALT)


def unsubscribe_token(subscriber_id: int) -> str:
    # No expiry: an unsubscribe link in a two-year-old email must still work.
    return signing.dumps({"s": subscriber_id}, salt=UNSUBSCRIBE_SALT)


def read_confirm_token(token: str, *, now: datetime | None = None) -> int:
    payload = _load(token, salt=CONFIRM_SALT)
    issued = payload.get("t")
    if not isinstance(issued, int):
        raise BadToken("unexpected token payload")
    age = (now or timezone.now()).timestamp() - issued
    if age > CONFIRM_MAX_AGE.total_seconds():
        raise BadToken("the confirmation link has expired")
    return _subscriber_id(payload)


def read_unsubscribe_token(token: str) -> int:
    return _subscriber_id(_load(token, salt=UNSUBSCRIBE_SALT))


def _load(token: str, *, salt: str) -> dict:
    try:
        payload = signing.loads(token, salt=salt)
    except signing.BadSignature as exc:
        raise BadToken("the link is not valid") from exc
    if not isinstance(payload, dict):
        raise BadToken("unexpected token payload")
    return payload


def _subscriber_id(payload: dict) -> int:
    value = payload.get("s")
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadToken("unexpected token payload")
    return value
