"""Pages of diagnostics (mounted at /diagnostics/)."""

from django.urls import path

from . import views

app_name = "diagnostics"
urlpatterns = [
    path("", views.diagnosis_list, name="list"),
    path("probes/", views.probe_catalogue, name="probes"),
    path("runbooks/", views.runbook_list, name="runbooks"),
    path("runbooks/new/", views.runbook_new, name="runbook_new"),
    path("runbooks/<int:pk>/edit/", views.runbook_edit, name="runbook_edit"),
    path("sets/<int:pk>/", views.diagnosis_detail, name="diagnosis"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("runs/<int:pk>/again/", views.run_again, name="run_again"),
    path("incidents/<int:number>/", views.incident_diagnostics, name="incident"),
    path("incidents/<int:number>/runbook/", views.runbook_run, name="runbook_run"),
    path("incidents/<int:number>/probe/", views.probe_run_start, name="probe_run_start"),
    path("incidents/<int:number>/verify/", views.verify_resolution, name="verify_resolution"),
    path("verifications/<int:pk>/cancel/", views.verification_cancel, name="verification_cancel"),
    path("services/<slug:slug>/health-check/", views.health_check, name="health_check"),
]
