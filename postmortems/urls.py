"""Postmortem pages (mounted at /postmortems/)."""

from django.urls import path

from . import action_views, export_views, views

app_name = "postmortems"
urlpatterns = [
    path("", views.postmortem_list, name="list"),
    path("<int:pk>/", views.postmortem_detail, name="detail"),
    path("<int:pk>/edit/", views.postmortem_edit, name="edit"),
    path("<int:pk>/submit/", views.postmortem_submit, name="submit"),
    path("<int:pk>/review/", views.postmortem_review, name="review"),
    path("<int:pk>/return/", views.postmortem_return, name="return"),
    path("<int:pk>/publish/", views.postmortem_publish, name="publish"),
    path("<int:pk>/revisions/<int:number>/", views.revision_detail, name="revision"),
    path("<int:pk>/timeline/<int:event_id>/", views.curation_set, name="curate"),
    # Export (export_views.py): `?revision=n` for a published revision.
    path("<int:pk>/export.md", export_views.export_markdown, name="export-md"),
    path("<int:pk>/print/", export_views.print_page, name="print"),
    path("start/<int:incident_id>/", views.postmortem_start, name="start"),
    # Action items (action_views.py).
    path("action-items/", action_views.action_item_list, name="action-items"),
    path("<int:pk>/action-items/", action_views.action_item_add, name="action-item-add"),
    path(
        "action-items/<int:item_id>/status/",
        action_views.action_item_status,
        name="action-item-status",
    ),
]
