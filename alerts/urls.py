"""Pages of the alerts app (mounted at /alerts/)."""

from django.urls import path

from . import integration_views, views

app_name = "alerts"
urlpatterns = [
    path("", views.group_list, name="list"),
    path("<int:group_id>/", views.group_detail, name="detail"),
    path("<int:group_id>/acknowledge/", views.group_acknowledge, name="acknowledge"),
    path("<int:group_id>/resolve/", views.group_resolve, name="resolve"),
    path("<int:group_id>/link/", views.group_link, name="link"),
    path("integrations/", integration_views.integration_list, name="integration-list"),
    path("integrations/new/", integration_views.integration_create, name="integration-create"),
    path(
        "integrations/<int:integration_id>/",
        integration_views.integration_detail,
        name="integration-detail",
    ),
    path(
        "integrations/<int:integration_id>/rotate/",
        integration_views.integration_rotate,
        name="integration-rotate",
    ),
    path(
        "integrations/<int:integration_id>/toggle/",
        integration_views.integration_toggle,
        name="integration-toggle",
    ),
    path(
        "integrations/<int:integration_id>/rules/",
        integration_views.rule_create,
        name="rule-create",
    ),
    path(
        "integrations/<int:integration_id>/rules/<int:rule_id>/delete/",
        integration_views.rule_delete,
        name="rule-delete",
    ),
    path(
        "integrations/<int:integration_id>/rules/<int:rule_id>/move/",
        integration_views.rule_move,
        name="rule-move",
    ),
]
