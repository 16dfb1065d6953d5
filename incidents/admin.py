"""Admins edit the severity policy and the playbook templates; incidents are read-only here
(every change to an incident goes through the services, which write the timeline)."""

from django.contrib import admin

from .models import Incident, SeverityPolicy, TaskTemplate, TimelineEvent


@admin.register(SeverityPolicy)
class SeverityPolicyAdmin(admin.ModelAdmin):
    list_display = (
        "level",
        "name",
        "response_minutes",
        "escalate_after_minutes",
        "escalate_next_business_day",
        "escalate_overdue_tasks",
        "requires_postmortem",
        "require_diagnosis_to_mitigate",
    )
    ordering = ("level",)

    def has_add_permission(self, request):
        return False  # the four levels are fixed; their meaning is editable

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TaskTemplate)
class TaskTemplateAdmin(admin.ModelAdmin):
    list_display = ("title", "step", "on_status", "due_minutes", "position", "active")
    list_filter = ("step", "on_status", "active")
    list_editable = ("due_minutes", "position", "active")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    list_display = ("number", "title", "severity", "status", "commander", "detected_at")
    list_filter = ("severity", "status")
    search_fields = ("title",)


@admin.register(TimelineEvent)
class TimelineEventAdmin(ReadOnlyAdmin):
    list_display = ("incident", "seq", "kind", "visibility", "author", "created_at")
    list_filter = ("kind", "visibility")
    list_select_related = ("incident", "author")
