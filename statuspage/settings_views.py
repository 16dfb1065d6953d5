"""The admins' settings of the public page: name, logo, accent colour, `/` for anonymous
visitors, the stale-component limit — and the components currently flagged as stale."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.permissions import Perm, require_perm

from .cache import invalidate_now_and_on_commit
from .models import PageConfig, StaleComponentFlag
from .stale import stale_components


class PageConfigForm(forms.ModelForm):
    brand_color = forms.RegexField(
        regex=r"^#[0-9a-fA-F]{6}$",
        max_length=7,
        error_messages={"invalid": "A colour as #rrggbb."},
        widget=forms.TextInput(attrs={"type": "color"}),
    )

    class Meta:
        model = PageConfig
        fields = ["name", "logo_url", "brand_color", "home_for_anonymous", "stale_after_minutes"]

    def clean_logo_url(self):
        url = self.cleaned_data["logo_url"]
        if url and not url.startswith("https://") and not url.startswith("/"):
            raise forms.ValidationError("Use an https:// address or a path on this site.")
        return url

    def clean_stale_after_minutes(self):
        minutes = self.cleaned_data["stale_after_minutes"]
        if not 5 <= minutes <= 7 * 24 * 60:
            raise forms.ValidationError("Between 5 minutes and a week.")
        return minutes


@require_http_methods(["GET", "POST"])
@require_perm(Perm.STATUSPAGE_MANAGE)
def page_settings(request):
    config = PageConfig.current()
    form = PageConfigForm(request.POST or None, instance=config)
    if request.method == "POST":
        if form.is_valid():
            form.save()
            invalidate_now_and_on_commit()
            messages.success(request, "Status page settings saved.")
            return redirect(reverse("statuspage:settings"))
        status = 400
    else:
        status = 200
    context = {
        "form": form,
        "stale": stale_components(),
        "recent_flags": StaleComponentFlag.objects.select_related("service")[:10],
    }
    return render(request, "statuspage/admin/settings.html", context, status=status)
