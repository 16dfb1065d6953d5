"""Public paths. The /api/v2/ ones are an outside contract (ARCHITECTURE.md §4): never move them.

Included at the root, before the project's `^api/` catch-all.
"""

from django.urls import path

from . import api, views

app_name = "statuspage"

urlpatterns = [
    path("status/", views.home, name="home"),
    path("status/maintenance/<int:pk>/", views.maintenance_detail, name="maintenance"),
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
