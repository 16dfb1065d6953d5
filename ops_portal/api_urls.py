"""The REST API under /api/v1/: one router, each app registering its viewsets."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from accounts.api import ApiTokenViewSet, MeView
from alerts.api import AlertGroupViewSet, IntegrationViewSet, RoutingRuleViewSet
from catalog.api import ServiceGroupViewSet, ServiceViewSet, TargetViewSet
from diagnostics.api import (
    ActionPolicyViewSet,
    ActionViewSet,
    DiagnosisViewSet,
    ProbeRunViewSet,
    ProbeViewSet,
    RunbookViewSet,
    VerificationViewSet,
)
from diagnostics.proposal_api import StatusProposalViewSet
from incidents.api import IncidentViewSet, TaskViewSet
from insights.api import InsightsView
from maintenance.api import MaintenanceWindowViewSet
from maintenance.backup_api import BackupCheckViewSet, BackupScheduleViewSet
from maintenance.procedure_api import ChecklistTemplateViewSet, IncidentProcedureViewSet
from postmortems.api import ActionItemViewSet, PostmortemViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("services", ServiceViewSet, basename="service")
router.register("service-groups", ServiceGroupViewSet, basename="service-group")
router.register("targets", TargetViewSet, basename="target")
router.register("tokens", ApiTokenViewSet, basename="api-token")
router.register("incidents", IncidentViewSet, basename="incident")
router.register("tasks", TaskViewSet, basename="task")
router.register("alert-groups", AlertGroupViewSet, basename="alert-group")
router.register("integrations", IntegrationViewSet, basename="integration")
router.register("routing-rules", RoutingRuleViewSet, basename="routing-rule")
router.register("probes", ProbeViewSet, basename="probe")
router.register("runbooks", RunbookViewSet, basename="runbook")
router.register("diagnoses", DiagnosisViewSet, basename="diagnosis")
router.register("probe-runs", ProbeRunViewSet, basename="probe-run")
router.register("verifications", VerificationViewSet, basename="verification")
router.register("actions", ActionViewSet, basename="action")
router.register("action-policies", ActionPolicyViewSet, basename="action-policy")
router.register("status-proposals", StatusProposalViewSet, basename="status-proposal")
router.register("maintenance-windows", MaintenanceWindowViewSet, basename="maintenance-window")
router.register("backup-checks", BackupCheckViewSet, basename="backup-check")
router.register("backup-schedules", BackupScheduleViewSet, basename="backup-schedule")
router.register("checklist-templates", ChecklistTemplateViewSet, basename="checklist-template")
router.register("incident-procedures", IncidentProcedureViewSet, basename="incident-procedure")
router.register("postmortems", PostmortemViewSet, basename="postmortem")
router.register("action-items", ActionItemViewSet, basename="action-item")

urlpatterns = [
    path("me/", MeView.as_view(), name="api-me"),
    path("insights/", InsightsView.as_view(), name="api-insights"),
    *router.urls,
]
