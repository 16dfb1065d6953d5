"""Top-level URLs. Paths under §4 of ARCHITECTURE.md are contracts: do not move them."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from . import views
from .api_errors import api_not_found
from .health import health
from .metrics import metrics

urlpatterns = [
    path("", views.home, name="home"),
    path("health", health, name="health"),
    path("metrics", metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    path("services/", include("catalog.urls")),
    path("incidents/", include("incidents.urls")),
    path("", include("alerts.ingest_urls")),
    path("alerts/", include("alerts.urls")),
    path("diagnostics/", include("diagnostics.urls")),
    path("maintenance/", include("maintenance.urls")),
    path("insights/", include("insights.urls")),
    path("postmortems/", include("postmortems.urls")),
    # The public status page and its Statuspage v2 JSON (before the `^api/` catch-all).
    path("", include("statuspage.urls")),
    path("api/v1/", include("ops_portal.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", views.ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^api/", api_not_found),
]
