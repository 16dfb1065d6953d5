"""Subscriber emails through Django's email backend: notices, confirmations, "already subscribed".

Every message has a text and an HTML part rendered from templates under
statuspage/templates/statuspage/email/ (autoescaped; the only dynamic text is public), and every
notice carries its unsubscribe link in the body and in `List-Unsubscribe` (RFC 2369) with
`List-Unsubscribe-Post` (RFC 8058), so mail clients offer a one-click unsubscribe.
"""

from __future__ import annotations

import smtplib
from datetime import UTC

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils.dateparse import parse_datetime

from ..models import Subscriber, SubscriberDelivery
from .delivery import DeliveryError
from .public_events import NOTICE_HEADLINES, page_name


def _message(
    *, subject: str, template: str, context: dict, to: str, headers: dict | None = None
) -> EmailMultiAlternatives:
    text = render_to_string(f"statuspage/email/{template}.txt", context)
    html = render_to_string(f"statuspage/email/{template}.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.STATUSPAGE_EMAIL_FROM,
        to=[to],
        headers=headers or {},
    )
    message.attach_alternative(html, "text/html")
    return message


def _unsubscribe_headers(url: str) -> dict:
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def send_notice(row: SubscriberDelivery, subscriber: Subscriber, *, meta: dict) -> None:
    """Send one delivery; raise DeliveryError (permanent for a refused address)."""
    notice = (row.payload.get("scheduled_maintenance") or {}).get("notice")
    context = {
        **row.payload,
        "meta": meta,
        "subject": row.subject,
        "times": _times(row.payload),
        "headline": NOTICE_HEADLINES.get(notice, ""),
    }
    message = _message(
        subject=row.subject,
        template="notice",
        context=context,
        to=subscriber.email,
        headers={**_unsubscribe_headers(meta["unsubscribe"]), "X-OpsPortal-Delivery": str(row.pk)},
    )
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _text in exc.recipients.values()]
        permanent = bool(codes) and all(code >= 500 for code in codes)
        raise DeliveryError(f"recipient refused: {codes}", permanent=permanent) from exc
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(
            f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"[:500], permanent=exc.smtp_code >= 500
        ) from exc
    except ValueError as exc:  # an address the backend cannot encode: never going to work
        raise DeliveryError(f"invalid address: {exc}", permanent=True) from exc
    except (smtplib.SMTPException, OSError) as exc:  # connection, timeout: try again later
        raise DeliveryError(f"SMTP unavailable: {exc!r}"[:500]) from exc


def _times(payload: dict) -> dict:
    """The payload's ISO times as people read them (UTC, like the status page)."""
    incident = payload.get("incident") or {}
    maintenance = payload.get("scheduled_maintenance") or {}
    raw = {
        "posted": (incident.get("incident_update") or {}).get("created_at"),
        "starts": maintenance.get("scheduled_for"),
        "ends": maintenance.get("scheduled_until"),
    }
    shown = {}
    for name, value in raw.items():
        moment = parse_datetime(value) if isinstance(value, str) else None
        if moment is not None:
            moment = moment.astimezone(UTC)
            shown[name] = f"{moment.day} {moment:%b %Y, %H:%M} UTC"
    return shown


def send_confirmation(subscriber: Subscriber, *, confirm_url: str) -> None:
    """The double opt-in message (nothing else is sent before the link is used)."""
    name = page_name()
    message = _message(
        subject=f"[{name}] Confirm your subscription",
        template="confirm",
        context={"page_name": name, "confirm_url": confirm_url},
        to=subscriber.email,
    )
    message.send()


def send_already_subscribed(subscriber: Subscriber, *, unsubscribe_url: str) -> None:
    """Someone asked again for a confirmed address: tell its owner, not the asker."""
    name = page_name()
    message = _message(
        subject=f"[{name}] You are already subscribed",
        template="already_subscribed",
        context={"page_name": name, "unsubscribe_url": unsubscribe_url},
        to=subscriber.email,
        headers=_unsubscribe_headers(unsubscribe_url),
    )
    message.send()
