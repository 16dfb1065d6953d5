"""Public subscription pages: subscribe, confirm, unsubscribe. Per-visitor, so never cached.

Confirm and unsubscribe links open a page with one button rather than acting on GET: mail
security scanners fetch every link in a message, and would otherwise confirm or cancel
subscriptions nobody asked about. The unsubscribe POST is CSRF-exempt so mail clients' RFC 8058
one-click POST works; the signed token in the URL is the authority, not a cookie.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from ..branding import page_context
from ..models import Subscriber, SubscriberKind
from . import services, throttle
from .delivery import unsubscribe_url
from .forms import SubscribeForm
from .tokens import BadToken, read_confirm_token, read_unsubscribe_token

TEMPLATES = "statuspage/subscriptions"


def _render(request: HttpRequest, name: str, context: dict | None = None, *, status: int = 200):
    context = {**page_context(), **(context or {})}
    return render(request, f"{TEMPLATES}/{name}.html", context, status=status)


def _invalid_link(request: HttpRequest) -> HttpResponse:
    return _render(request, "link_invalid", status=400)


def client_ip(request: HttpRequest) -> str:
    """The visitor's address for the rate limit.

    Behind STATUSPAGE_TRUSTED_PROXIES proxies (an Ingress, a load balancer), each appends the
    address it saw to X-Forwarded-For, so the client is the Nth entry from the right; anything
    further left was written by the client and is ignored. With none, REMOTE_ADDR.
    """
    proxies = settings.STATUSPAGE_TRUSTED_PROXIES
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    if proxies <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [hop for hop in hops if hop]
    return hops[-proxies] if len(hops) >= proxies else remote


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _render(request, "subscribe", {"form": SubscribeForm()})
    verdict = throttle.subscribe_attempt(client_ip(request), now=timezone.now())
    if not verdict.allowed:
        response = _render(request, "rate_limited", status=429)
        response["Retry-After"] = str(verdict.retry_after_s)
        return response
    form = SubscribeForm(request.POST)
    if form.is_valid():
        try:
            if form.cleaned_data["kind"] == SubscriberKind.EMAIL:
                services.email_subscribe(
                    email=form.cleaned_data["email"], components=form.chosen_services()
                )
                # The same page whatever the address's state: nothing to learn from it.
                return HttpResponseRedirect(reverse("statuspage:subscribe-sent"))
            subscriber, secret = services.webhook_subscribe(
                url=form.cleaned_data["url"], components=form.chosen_services()
            )
        except services.SubscriptionError as exc:
            form.add_error(exc.field, str(exc))
        else:
            # Shown in this answer only: no redirect, so the secret is never in a URL or stored
            # anywhere but the row that signs with it.
            return _render(
                request,
                "webhook_created",
                {
                    "subscriber": subscriber,
                    "secret": secret,
                    "unsubscribe_url": unsubscribe_url(subscriber.pk),
                    "components": form.chosen_services(),
                },
                status=201,
            )
    return _render(request, "subscribe", {"form": form}, status=400)


@never_cache
def subscribe_sent(request: HttpRequest) -> HttpResponse:
    return _render(request, "check_inbox")


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber_id = read_confirm_token(token)
    except BadToken:
        return _invalid_link(request)
    subscriber = Subscriber.objects.filter(pk=subscriber_id, kind=SubscriberKind.EMAIL).first()
    if subscriber is None:
        return _invalid_link(request)
    if request.method == "POST":
        subscriber = services.subscriber_confirm(subscriber_id=subscriber_id)
    context = {"subscriber": subscriber, "unsubscribe_url": unsubscribe_url(subscriber.pk)}
    return _render(request, "confirm", context)


@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber_id = read_unsubscribe_token(token)
    except BadToken:
        return _invalid_link(request)
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None:
        return _invalid_link(request)
    if request.method == "POST":
        subscriber = services.subscriber_unsubscribe(subscriber_id=subscriber_id)
    return _render(request, "unsubscribe", {"subscriber": subscriber})
