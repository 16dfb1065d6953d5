"""Sign-in, sign-out and the profile page with API tokens."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from .forms import ApiTokenForm
from .models import ApiToken
from .permissions import Perm, require_perm, user_role
from .services import api_token_create, api_token_revoke


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


def _profile_context(request, *, form=None, issued=None):
    return {
        "role": user_role(request.user),
        "teams": request.user.teams.all(),
        "tokens": ApiToken.objects.filter(user=request.user),
        "form": form or ApiTokenForm(),
        "issued": issued,
    }


@never_cache
@require_http_methods(["GET", "POST"])
@require_perm(Perm.API_TOKENS_OWN)
def profile(request):
    """Profile and tokens. A new token is shown in this response only, never again."""
    if request.method == "POST":
        form = ApiTokenForm(request.POST)
        if form.is_valid():
            days = form.cleaned_data.get("expires_in_days")
            issued = api_token_create(
                user=request.user,
                name=form.cleaned_data["name"],
                expires_at=timezone.now() + timedelta(days=days) if days else None,
            )
            response = render(
                request, "accounts/profile.html", _profile_context(request, issued=issued)
            )
            response["Cache-Control"] = "no-store"
            return response
        return render(
            request, "accounts/profile.html", _profile_context(request, form=form), status=400
        )
    return render(request, "accounts/profile.html", _profile_context(request))


@require_POST
@require_perm(Perm.API_TOKENS_OWN)
def token_revoke(request, token_id: int):
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    api_token_revoke(token=token)
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("profile")
