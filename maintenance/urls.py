"""Pages of maintenance (mounted at /maintenance/)."""

from django.urls import path

from . import backup_views, procedure_views, template_views, views

app_name = "maintenance"
urlpatterns = [
    # Windows: list and calendar (?view=calendar), planning, the window page and its actions.
    path("", views.window_list, name="list"),
    path("new/", views.window_new, name="new"),
    path("<int:pk>/", views.window_detail, name="detail"),
    path("<int:pk>/edit/", views.window_edit, name="edit"),
    path("<int:pk>/start/", views.window_start, name="start"),
    path("<int:pk>/verify/", views.window_verify, name="verify"),
    path("<int:pk>/complete/", views.window_complete, name="complete"),
    path("<int:pk>/cancel/", views.window_cancel, name="cancel"),
    path("<int:pk>/extend/", views.window_extend, name="extend"),
    path("<int:pk>/checklist/", views.item_add, name="item_add"),
    path("<int:pk>/checklist/<int:item_id>/", views.item_set, name="item_set"),
    path("<int:pk>/notes/", views.note_add, name="note"),
    # Checklist templates and recovery procedures (template_views.py, procedure_views.py).
    path("templates/", template_views.template_list, name="template-list"),
    path("templates/new/", template_views.template_new, name="template-new"),
    path("templates/<int:pk>/", template_views.template_detail, name="template-detail"),
    path("templates/<int:pk>/edit/", template_views.template_edit, name="template-edit"),
    path("templates/<int:pk>/delete/", template_views.template_delete, name="template-delete"),
    path(
        "procedures/attach/<int:incident_id>/",
        procedure_views.procedure_attach,
        name="procedure-attach",
    ),
    # Backup verification (backup_views.py).
    path("backups/", backup_views.backup_list, name="backup-list"),
    path("backups/run/", backup_views.backup_run, name="backup-run"),
    path("backups/<int:pk>/", backup_views.backup_detail, name="backup-detail"),
    path("backups/schedules/", backup_views.backup_schedule_save, name="backup-schedule-save"),
    path(
        "backups/schedules/<int:pk>/delete/",
        backup_views.backup_schedule_delete,
        name="backup-schedule-delete",
    ),
]
