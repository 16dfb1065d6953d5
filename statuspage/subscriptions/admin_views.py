"""The admins' view of subscriptions: who is subscribed (masked) and how deliveries fare.

Failures come first so a broken receiver is seen; "retry now" starts a fresh series of attempts
for a failed or dead delivery. Addresses are masked and webhook URLs cut to their origin: paths
and queries of webhook URLs often carry tokens (Slack, Teams), and the page needs neither.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib import messages
from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import Perm, require_perm

from ..models import DeliveryState, Subscriber, SubscriberDelivery, SubscriberKind
from .delivery import delivery_retry_now

# Short names and the status colours (portal.css) of the delivery states, for the admin page.
STATE_DISPLAY = {
    DeliveryState.PENDING: ("Pending", "under_maintenance"),
    DeliveryState.SENDING: ("Sending", "under_maintenance"),
    DeliveryState.SENT: ("Sent", "operational"),
    DeliveryState.FAILED: ("Retrying", "degraded_performance"),
    DeliveryState.DEAD: ("Gave up", "major_outage"),
}
SUBSCRIBER_LIMIT = 200
DELIVERY_LIMIT = 100
_FAILURES_FIRST = Case(
    When(state=DeliveryState.DEAD, then=Value(0)),
    When(state=DeliveryState.FAILED, then=Value(1)),
    When(state=DeliveryState.SENDING, then=Value(2)),
    When(state=DeliveryState.PENDING, then=Value(3)),
    default=Value(4),
    output_field=IntegerField(),
)


def mask_email(address: str) -> str:
    """a•••@example.com: enough to recognise an address one knows, not to harvest it."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"


def mask_url(url: str) -> str:
    parts = urlsplit(url)
    rest = "/…" if (parts.path not in ("", "/") or parts.query) else "/"
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{rest}"


def subscriber_label(subscriber: Subscriber) -> str:
    if subscriber.kind == SubscriberKind.EMAIL:
        return mask_email(subscriber.email)
    return mask_url(subscriber.url)


@require_GET
@require_perm(Perm.STATUSPAGE_MANAGE)
def subscribers(request: HttpRequest) -> HttpResponse:
    """Four queries whatever the number of subscribers and deliveries (lists are capped)."""
    rows = list(
        Subscriber.objects.annotate(
            # distinct: the two joins (deliveries, components) multiply each other's rows.
            sent=Count("deliveries", filter=Q(deliveries__state=DeliveryState.SENT), distinct=True),
            failing=Count(
                "deliveries",
                filter=Q(deliveries__state__in=(DeliveryState.FAILED, DeliveryState.DEAD)),
                distinct=True,
            ),
            component_count=Count("components", distinct=True),
        ).order_by("-created_at", "-id")[:SUBSCRIBER_LIMIT]
    )
    totals = Subscriber.objects.aggregate(
        active=Count("id", filter=Q(confirmed_at__isnull=False, unsubscribed_at__isnull=True)),
        unconfirmed=Count("id", filter=Q(confirmed_at__isnull=True, unsubscribed_at__isnull=True)),
        unsubscribed=Count("id", filter=Q(unsubscribed_at__isnull=False)),
    )
    deliveries = list(
        SubscriberDelivery.objects.select_related("subscriber")
        .annotate(failures_first=_FAILURES_FIRST)
        .order_by("failures_first", "-created_at", "-id")[:DELIVERY_LIMIT]
    )
    state_counts = dict(
        SubscriberDelivery.objects.values_list("state").annotate(n=Count("id")).order_by()
    )
    context = {
        "subscribers": [(s, subscriber_label(s)) for s in rows],
        "totals": totals,
        "deliveries": [
            (d, subscriber_label(d.subscriber), *STATE_DISPLAY[DeliveryState(d.state)])
            for d in deliveries
        ],
        "state_counts": [
            (label, state_counts.get(state, 0)) for state, (label, _colour) in STATE_DISPLAY.items()
        ],
        "retryable": {DeliveryState.FAILED, DeliveryState.DEAD},
        "subscriber_limit": SUBSCRIBER_LIMIT,
        "delivery_limit": DELIVERY_LIMIT,
    }
    return render(request, "statuspage/admin/subscribers.html", context)


@require_POST
@require_perm(Perm.STATUSPAGE_MANAGE)
def delivery_retry(request: HttpRequest, pk: int) -> HttpResponse:
    if delivery_retry_now(delivery_id=pk):
        messages.success(request, f"Delivery {pk} queued again.")
    else:
        messages.error(
            request,
            f"Delivery {pk} cannot be retried: it is not failed or dead, or the subscriber left.",
        )
    return HttpResponseRedirect(reverse("statuspage:subscribers-admin"))
