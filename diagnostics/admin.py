"""Admin: runbooks are editable (also at /diagnostics/runbooks/); runs are records, read-only."""

from django.contrib import admin

from .models import Diagnosis, ProbeRun, Runbook, RunbookStep, Verification


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
