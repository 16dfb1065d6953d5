"""Admin: runbooks are editable (also at /diagnostics/runbooks/); runs are records, read-only."""

from django.contrib import admin

from .models import (
    ActionPolicy,
    ActionRequest,
    Diagnosis,
    ProbeRun,
    Runbook,
    RunbookStep,
    Verification,
)


class RunbookStepInline(admin.TabularInline):
    model = RunbookStep
    extra = 0
    fields = ("position", "title", "probe", "params", "target_name")


@admin.register(Runbook)
class RunbookAdmin(admin.ModelAdmin):
    list_display = ("name", "symptom", "enabled", "updated_at")
    list_filter = ("enabled", "symptom")
    search_fields = ("name", "description")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [RunbookStepInline]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Probe results are evidence: nobody edits them after the fact."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ProbeRunInline(admin.TabularInline):
    model = ProbeRun
    extra = 0
    fields = ("position", "probe", "target_label", "state", "status", "summary", "duration_ms")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Diagnosis)
class DiagnosisAdmin(ReadOnlyAdmin):
    list_display = ("title", "incident", "purpose", "status", "created_at", "finished_at")
    list_filter = ("purpose", "status")
    list_select_related = ("incident",)
    inlines = [ProbeRunInline]


@admin.register(ProbeRun)
class ProbeRunAdmin(ReadOnlyAdmin):
    list_display = ("probe", "target_label", "state", "status", "queued_at", "duration_ms")
    list_filter = ("state", "status", "probe")
    search_fields = ("target_label", "summary")


@admin.register(Verification)
class VerificationAdmin(ReadOnlyAdmin):
    list_display = ("incident", "state", "requested_by", "watch_until", "checks_passed")
    list_filter = ("state",)
    list_select_related = ("incident", "requested_by")


@admin.register(ActionPolicy)
class ActionPolicyAdmin(admin.ModelAdmin):
    """Admins decide which actions are allowed on which targets and which need approval."""

    list_display = ("action_label", "target", "allowed", "approval", "note")
    list_filter = ("allowed", "approval")
    list_select_related = ("target__service",)

    @admin.display(description="action")
    def action_label(self, policy):
        return policy.action or "every action"


@admin.register(ActionRequest)
class ActionRequestAdmin(ReadOnlyAdmin):
    list_display = ("action", "target_label", "incident", "state", "requested_by", "created_at")
    list_filter = ("state", "action")
    list_select_related = ("incident", "requested_by")
    exclude = ("preview_token_digest",)
