"""Webhook deliveries: a signed JSON POST through the SSRF-guarded outbound client.

The body is the notice's public payload plus `meta` (delivery id, unsubscribe link). Headers:
`X-OpsPortal-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with the
subscriber's secret>` (Slack's and Stripe's scheme: receivers recompute it over the raw body,
compare in constant time and refuse old timestamps) and `X-OpsPortal-Delivery: <id>` to dedupe
on. ops_portal.outbound resolves the host once, refuses private/loopback/link-local/metadata
addresses in production, connects to the checked address, follows no redirect, and bounds the
whole call by one timeout.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from django.conf import settings
from django.utils import timezone

from ops_portal.outbound import OutboundRefused, OutboundUnreachable, fetch, split_url

from ..models import Subscriber, SubscriberDelivery
from .delivery import DeliveryError

TIMEOUT_S = 10.0
# We read the answer only for its status; a receiver's body is not kept.
MAX_RESPONSE_BYTES = 4096
SIGNATURE_HEADER = "X-OpsPortal-Signature"
DELIVERY_HEADER = "X-OpsPortal-Delivery"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def body_for(row: SubscriberDelivery, meta: dict) -> bytes:
    return json.dumps({"meta": meta, **row.payload}, separators=(",", ":")).encode()


def send_notice(
    row: SubscriberDelivery, subscriber: Subscriber, *, meta: dict, now: datetime
) -> None:
    """POST one delivery; raise DeliveryError (permanent for 4xx other than 408/429)."""
    if settings.DJANGO_ENV == "production":
        try:
            scheme = split_url(subscriber.url)[0]
        except OutboundRefused as exc:
            raise DeliveryError(str(exc), permanent=True) from exc
        if scheme != "https":
            raise DeliveryError("only https webhooks are sent in production", permanent=True)
    body = body_for(row, meta)
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: f"t={timestamp},v1={signature(subscriber.secret, timestamp, body)}",
        DELIVERY_HEADER: str(row.pk),
    }
    try:
        result = fetch(
            subscriber.url,
            method="POST",
            headers=headers,
            content=body,
            timeout_s=TIMEOUT_S,
            max_bytes=MAX_RESPONSE_BYTES,
            max_redirects=0,
        )
    except OutboundRefused as exc:  # the policy will refuse it next time too
        raise DeliveryError(str(exc), permanent=True) from exc
    except OutboundUnreachable as exc:  # DNS, refused, timeout, TLS: may work later
        raise DeliveryError(str(exc)) from exc
    status = result.status_code
    if 200 <= status < 300:
        return
    error = f"HTTP {status} {result.reason}".strip()
    if status in (408, 429) or status >= 500:
        raise DeliveryError(error, retry_after=_retry_after(result.headers.get("retry-after")))
    if 300 <= status < 400:
        error += " (redirects are not followed: subscribe the final URL)"
    raise DeliveryError(error, permanent=True)


def _retry_after(value: str | None) -> timedelta | None:
    """Retry-After as delay-seconds or an HTTP date (RFC 9110 §10.2.3); None when unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(when - timezone.now(), timedelta(0))
