"""Project-level pages."""

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from drf_spectacular.views import SpectacularSwaggerView

from statuspage.models import PageConfig


def home(request):
    """Send people to the service overview once signed in; anonymous visitors to the login
    page, or to the public status page when the admins configured that."""
    if request.user.is_authenticated:
        return redirect("catalog:service-list")
    if PageConfig.current().home_for_anonymous:
        return redirect("statuspage:home")
    return redirect("login")


class ApiDocsView(SpectacularSwaggerView):
    """Swagger UI. A person without a session is sent to sign in rather than shown a 401."""

    def dispatch(self, request, *args, **kwargs):
        has_token = request.headers.get("Authorization", "").lower().startswith("bearer ")
        if not request.user.is_authenticated and not has_token:
            return redirect_to_login(request.get_full_path())
        return super().dispatch(request, *args, **kwargs)
