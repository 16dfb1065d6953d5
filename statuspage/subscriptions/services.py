"""Every write to subscribers: subscribe (email or webhook), confirm, unsubscribe.

Email is double opt-in: subscribing creates an unconfirmed row and mails a signed confirmation
link; nothing else is sent until it is used. Asking again for an unconfirmed address re-sends
the link; for a confirmed one the owner gets an "already subscribed" email. The visitor sees the
same answer in every case, so the form never tells a stranger whether an address is subscribed.

A webhook is confirmed at once (nobody reads a confirmation email at a URL); its signing secret
is returned to be shown once. Its URL is checked by the outbound policy: https only in
production and never a private, loopback, link-local or metadata address there.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from catalog.models import Service
from ops_portal.outbound import OutboundRefused, OutboundUnreachable, resolve_and_check

from ..models import DeliveryState, Subscriber, SubscriberDelivery, SubscriberKind
from . import mail, throttle
from .delivery import unsubscribe_url
from .tokens import confirm_token

logger = logging.getLogger(__name__)

RESOLVE_TIMEOUT_S = 3.0


class SubscriptionError(Exception):
    """A subscription request that cannot be accepted; the message is safe to show."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


def confirm_url(subscriber_id: int, *, now: datetime | None = None) -> str:
    token = confirm_token(subscriber_id, now=now)
    return settings.PUBLIC_BASE_URL + reverse("statuspage:subscribe-confirm", args=[token])


def _public_only(components: Sequence[Service]) -> list[Service]:
    public = set(Service.objects.public().filter(pk__in=[c.pk for c in components]))
    if len(public) != len({c.pk for c in components}):
        raise SubscriptionError(
            "Choose only components shown on the status page.", field="components"
        )
    return list(public)


# --- email ------------------------------------------------------------------------------------


def email_subscribe(
    *, email: str, components: Sequence[Service] = (), now: datetime | None = None
) -> Subscriber:
    """Start (or restart) an email subscription; mails the link or an "already" note on commit."""
    now = now or timezone.now()
    email = email.strip().lower()
    components = _public_only(components)
    with transaction.atomic():
        subscriber = _active_email_row(email)
        if subscriber is None:
            try:
                with transaction.atomic():
                    subscriber = Subscriber.objects.create(
                        kind=SubscriberKind.EMAIL, email=email, created_at=now
                    )
            except IntegrityError:  # a concurrent request created it first
                subscriber = _active_email_row(email)
                if subscriber is None:
                    raise
        if subscriber.confirmed_at is None:
            # The latest choice wins until the address is confirmed.
            subscriber.components.set(components)
            link = confirm_url(subscriber.pk, now=now)
            _mail_on_commit(email, lambda: mail.send_confirmation(subscriber, confirm_url=link))
        else:
            link = unsubscribe_url(subscriber.pk)
            _mail_on_commit(
                email, lambda: mail.send_already_subscribed(subscriber, unsubscribe_url=link)
            )
    return subscriber


def _active_email_row(email: str) -> Subscriber | None:
    return (
        Subscriber.objects.select_for_update()
        .filter(kind=SubscriberKind.EMAIL, email=email, unsubscribed_at__isnull=True)
        .first()
    )


def _mail_on_commit(address: str, send) -> None:
    def send_if_allowed() -> None:
        if not throttle.mail_allowed(address):
            return
        try:
            send()
        except Exception:  # the visitor can ask again; the page must not fail for a mail server
            logger.exception("could not send a subscription email")

    transaction.on_commit(send_if_allowed)


# --- webhook ----------------------------------------------------------------------------------


def webhook_url_check(url: str) -> None:
    """Refuse a URL the outbound policy would refuse, with a message safe for the public.

    The policy's own messages name the address a host resolved to and the admin setting that
    would allow it: fine for admins, not for anonymous visitors probing internal DNS.
    """
    if settings.DJANGO_ENV == "production" and not url.lower().startswith("https://"):
        raise SubscriptionError("Webhook URLs must use https.", field="url")
    try:
        resolve_and_check(url, timeout_s=RESOLVE_TIMEOUT_S)
    except OutboundRefused as exc:
        raise SubscriptionError(
            "This URL cannot receive webhooks: it must be an http(s) address on the public "
            "internet, without a user name or password.",
            field="url",
        ) from exc
    except OutboundUnreachable as exc:
        raise SubscriptionError("The URL's host name could not be resolved.", field="url") from exc


def webhook_subscribe(
    *, url: str, components: Sequence[Service] = (), now: datetime | None = None
) -> tuple[Subscriber, str]:
    """Subscribe a webhook, confirmed at once; returns it and its secret (shown once)."""
    now = now or timezone.now()
    url = url.strip()
    webhook_url_check(url)
    components = _public_only(components)
    secret = secrets.token_hex(32)
    try:
        with transaction.atomic():
            subscriber = Subscriber.objects.create(
                kind=SubscriberKind.WEBHOOK,
                url=url,
                secret=secret,
                confirmed_at=now,
                created_at=now,
            )
            subscriber.components.set(components)
    except IntegrityError as exc:
        # The URL's owner has its secret and unsubscribe link; handing a stranger a new secret
        # (or the old one) would let them forge or break its deliveries.
        raise SubscriptionError(
            "This URL is already subscribed. Use the unsubscribe link in its deliveries first.",
            field="url",
        ) from exc
    return subscriber, secret


# --- confirm and unsubscribe ------------------------------------------------------------------


def subscriber_confirm(*, subscriber_id: int, now: datetime | None = None) -> Subscriber | None:
    """Confirm once; confirming again changes nothing. None if the subscription is gone."""
    now = now or timezone.now()
    Subscriber.objects.filter(
        pk=subscriber_id, confirmed_at__isnull=True, unsubscribed_at__isnull=True
    ).update(confirmed_at=now)
    return Subscriber.objects.filter(pk=subscriber_id).first()


def subscriber_unsubscribe(*, subscriber_id: int, now: datetime | None = None) -> Subscriber | None:
    """Stop a subscription and drop its undelivered messages; idempotent."""
    now = now or timezone.now()
    with transaction.atomic():
        updated = Subscriber.objects.filter(pk=subscriber_id, unsubscribed_at__isnull=True).update(
            unsubscribed_at=now
        )
        if updated:
            SubscriberDelivery.objects.filter(
                subscriber_id=subscriber_id,
                state__in=(DeliveryState.PENDING, DeliveryState.FAILED),
            ).update(state=DeliveryState.DEAD, last_error="the subscription was cancelled")
    return Subscriber.objects.filter(pk=subscriber_id).first()
