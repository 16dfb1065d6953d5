from django.urls import path

from . import views

app_name = "incidents"

urlpatterns = [
    path("", views.incident_list, name="list"),
    path("declare/", views.incident_declare, name="declare"),
    path("<int:number>/", views.incident_detail, name="detail"),
    path("<int:number>/timeline/", views.incident_timeline_partial, name="timeline"),
    path("<int:number>/transition/", views.incident_transition, name="transition"),
    path("<int:number>/notes/", views.incident_note, name="note"),
    path("<int:number>/updates/", views.incident_public_update, name="update"),
    path(
        "<int:number>/tasks/<int:task_id>/<str:verb>/",
        views.task_action,
        name="task",
    ),
]
