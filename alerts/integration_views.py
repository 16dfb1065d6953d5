"""Integration admin pages (admins only): list, create, settings with the endpoint and a config
snippet, token rotation, enable/disable, and the integration's routing rules.

The token exists in plain text only in the response to a create or rotate. The POST keeps it in
the session for exactly one display on the integration page (post/redirect/get, so a reload
does not create a second integration), which drops it again: it is never rendered afterwards
and never part of a URL. Pages that show it are `no-store`.
"""

from __future__ import annotations

import time

from django.contrib import messages
from django.db import IntegrityError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import Perm, require_perm

from . import rule_services, selectors, services
from .endpoints import ingest_url
from .forms import IntegrationForm, RuleForm
from .models import Integration, RoutingRule
from .snippets import config_snippet
from .tokens import token_digest

ISSUED_TOKEN_KEY = "alerts.issued_token"
# A token not displayed within this time (the admin wandered off) is dropped unseen.
ISSUED_TOKEN_TTL_SECONDS = 600


def _remember_token(request, issued: services.IssuedIntegration) -> None:
    request.session[ISSUED_TOKEN_KEY] = {
        "integration": issued.integration.pk,
        "token": issued.token,
        "at": time.time(),
    }


def _take_token(request, integration: Integration) -> str | None:
    """The token issued for this integration, once; any pending token is dropped."""
    pending = request.session.pop(ISSUED_TOKEN_KEY, None)
    if not isinstance(pending, dict) or pending.get("integration") != integration.pk:
        return None
    token = pending.get("token")
    fresh = time.time() - pending.get("at", 0) < ISSUED_TOKEN_TTL_SECONDS
    # Rotated again since (elsewhere): that token no longer works, do not show it.
    current = isinstance(token, str) and token_digest(token) == integration.token_digest
    return token if fresh and current else None


def _integration(integration_id: int) -> Integration:
    return get_object_or_404(
        Integration.objects.select_related("default_service", "created_by"), pk=integration_id
    )


@never_cache
@require_http_methods(["GET"])
@require_perm(Perm.INTEGRATIONS_MANAGE)
def integration_list(request):
    return render(
        request,
        "alerts/integration_list.html",
        {"integrations": selectors.integrations_for_admin()},
    )


@never_cache
@require_http_methods(["GET", "POST"])
@require_perm(Perm.INTEGRATIONS_MANAGE)
def integration_create(request):
    form = IntegrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            issued = services.integration_create(
                kind=data["kind"],
                name=data["name"],
                by=request.user,
                default_service=data["default_service"],
                default_severity=data["default_severity"],
                severity_map=form.severity_map(),
                rate_limit_per_minute=data["rate_limit_per_minute"],
                auto_resolve_incidents=data["auto_resolve_incidents"],
            )
        except IntegrityError:
            # A double-clicked Create: the other request took the name between our check
            # and the insert (the name is unique in the database).
            form.add_error("name", "An integration with this name exists.")
        else:
            _remember_token(request, issued)
            messages.success(request, f"Integration “{issued.integration.name}” created.")
            return redirect("alerts:integration-detail", integration_id=issued.integration.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "alerts/integration_form.html", {"form": form}, status=status)


def _detail_context(request, integration: Integration, *, token=None, rule_form=None) -> dict:
    url = ingest_url(integration.kind)
    rules = selectors.integration_rules(integration)
    return {
        "integration": integration,
        "url": url,
        "token": token,
        "snippet": config_snippet(integration.kind, url=url, token=token),
        "rules": [(rule, rule_services.conditions_as_text(rule.conditions)) for rule in rules],
        "global_rules": [
            (rule, rule_services.conditions_as_text(rule.conditions))
            for rule in selectors.global_rules()
        ],
        "rule_form": rule_form or RuleForm(),
        "severity_map": sorted((integration.severity_map or {}).items()),
    }


@never_cache
@require_http_methods(["GET"])
@require_perm(Perm.INTEGRATIONS_MANAGE)
def integration_detail(request, integration_id: int):
    integration = _integration(integration_id)
    token = _take_token(request, integration)
    return render(
        request,
        "alerts/integration_detail.html",
        _detail_context(request, integration, token=token),
    )


@never_cache
@require_http_methods(["GET", "POST"])
@require_perm(Perm.INTEGRATIONS_MANAGE)
def integration_rotate(request, integration_id: int):
    """GET asks for confirmation (works without JavaScript); POST replaces the token."""
    integration = _integration(integration_id)
    if request.method == "GET":
        return render(request, "alerts/integration_rotate.html", {"integration": integration})
    issued = services.integration_rotate_token(integration=integration, by=request.user)
    _remember_token(request, issued)
    messages.success(request, "New token issued. The old token no longer works.")
    return redirect("alerts:integration-detail", integration_id=integration.pk)


@require_POST
@require_perm(Perm.INTEGRATIONS_MANAGE)
def integration_toggle(request, integration_id: int):
    integration = _integration(integration_id)
    enabled = request.POST.get("enabled") == "1"
    if enabled == integration.enabled:
        messages.info(request, f"Already {'enabled' if enabled else 'disabled'}.")
    else:
        services.integration_set_enabled(integration=integration, enabled=enabled, by=request.user)
        if enabled:
            messages.success(request, "Integration enabled: its token is accepted again.")
        else:
            messages.success(request, "Integration disabled: deliveries are refused with 403.")
    return redirect("alerts:integration-detail", integration_id=integration.pk)


@require_POST
@require_perm(Perm.INTEGRATIONS_MANAGE)
def rule_create(request, integration_id: int):
    integration = _integration(integration_id)
    form = RuleForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            rule = rule_services.rule_create(
                integration=integration,
                name=data["name"],
                conditions=data["conditions"],
                service=data["service"],
                severity=data["severity"],
                symptom=data["symptom"],
                action=data["action"],
                by=request.user,
            )
        except rule_services.RuleInvalid as exc:
            form.add_error(None, exc.errors)
        else:
            messages.success(request, f"Rule “{rule.name}” added.")
            return _to_rules(integration)
    context = _detail_context(request, integration, rule_form=form)
    return render(request, "alerts/integration_detail.html", context, status=400)


def _to_rules(integration: Integration):
    return redirect(reverse("alerts:integration-detail", args=[integration.pk]) + "#rules")


def _rule(integration: Integration, rule_id: int) -> RoutingRule:
    return get_object_or_404(RoutingRule, pk=rule_id, integration=integration)


@require_POST
@require_perm(Perm.INTEGRATIONS_MANAGE)
def rule_delete(request, integration_id: int, rule_id: int):
    integration = _integration(integration_id)
    rule = _rule(integration, rule_id)
    rule_services.rule_delete(rule=rule, by=request.user)
    messages.success(request, f"Rule “{rule.name}” deleted.")
    return _to_rules(integration)


@require_POST
@require_perm(Perm.INTEGRATIONS_MANAGE)
def rule_move(request, integration_id: int, rule_id: int):
    integration = _integration(integration_id)
    rule = _rule(integration, rule_id)
    direction = request.POST.get("direction", "")
    if direction not in ("up", "down"):
        messages.error(request, "Move a rule up or down.")
    else:
        rule_services.rule_move(rule=rule, direction=direction, by=request.user)
    return _to_rules(integration)
