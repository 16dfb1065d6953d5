"""Pages of diagnostics (mounted at /diagnostics/)."""

from django.urls import path

from . import action_views, proposal_views, views

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
    # Remediation actions (issue 6)
    path("incidents/<int:number>/actions/", action_views.action_list, name="incident_actions"),
    path("incidents/<int:number>/actions/new/", action_views.action_new, name="action_new"),
    path("actions/<int:pk>/", action_views.action_detail, name="action"),
    path("actions/<int:pk>/confirm/", action_views.action_confirm, name="action_confirm"),
    path("actions/<int:pk>/approve/", action_views.action_approve, name="action_approve"),
    path("actions/<int:pk>/reject/", action_views.action_reject, name="action_reject"),
    # Proposed component statuses (issue 9: never published without a commander)
    path("status-proposals/", proposal_views.proposal_list, name="proposals"),
    path(
        "status-proposals/<int:pk>/approve/",
        proposal_views.proposal_approve_view,
        name="proposal_approve",
    ),
    path(
        "status-proposals/<int:pk>/dismiss/",
        proposal_views.proposal_dismiss_view,
        name="proposal_dismiss",
    ),
]
