"""Public paths. The /api/v2/ ones are an outside contract (ARCHITECTURE.md §4): never move them.

Included at the root, before the project's `^api/` catch-all.
"""

from django.urls import path

from . import api, feeds, incident_views, settings_views, views
from .subscriptions import urls as subscription_urls

app_name = "statuspage"

urlpatterns = [
    path("status/", views.home, name="home"),
    path("status/maintenance/<int:pk>/", views.maintenance_detail, name="maintenance"),
    path("status/incidents/INC-<int:number>/", incident_views.incident_detail, name="incident"),
    path("status/history/", incident_views.history, name="history"),
    path("status/admin/settings/", settings_views.page_settings, name="settings"),
    path("history.atom", feeds.history_atom, name="history-atom"),
    path("history.rss", feeds.history_rss, name="history-rss"),
    path("api/v2/summary.json", api.summary, name="v2-summary"),
    path("api/v2/status.json", api.status, name="v2-status"),
    path("api/v2/incidents.json", api.incidents, name="v2-incidents"),
    path(
        "api/v2/incidents/unresolved.json",
        api.incidents_unresolved,
        name="v2-incidents-unresolved",
    ),
    path("api/v2/components.json", api.components, name="v2-components"),
    path(
        "api/v2/scheduled-maintenances.json",
        api.scheduled_maintenances,
        name="v2-scheduled-maintenances",
    ),
    path(
        "api/v2/scheduled-maintenances/upcoming.json",
        api.scheduled_maintenances_upcoming,
        name="v2-scheduled-maintenances-upcoming",
    ),
    path(
        "api/v2/scheduled-maintenances/active.json",
        api.scheduled_maintenances_active,
        name="v2-scheduled-maintenances-active",
    ),
]

urlpatterns += subscription_urls.urlpatterns
