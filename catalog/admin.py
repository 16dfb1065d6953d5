from django import forms
from django.contrib import admin

from .models import ComponentStatus, Service, ServiceGroup, Target
from .services import service_set_status


class TargetForm(forms.ModelForm):
    """Config validated per kind by Target.clean(); errors appear on the config field."""

    class Meta:
        model = Target
        fields = ["service", "name", "kind", "config", "enabled"]


class TargetInline(admin.TabularInline):
    model = Target
    form = TargetForm
    extra = 0


@admin.register(ServiceGroup)
class ServiceGroupAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "position")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "group", "owner_team", "status", "show_on_status_page")
    list_filter = ("status", "group", "show_on_status_page")
    search_fields = ("name", "slug", "component_name")
    prepopulated_fields = {"slug": ("name",)}
    list_select_related = ("group", "owner_team")
    inlines = [TargetInline]

    def save_model(self, request, obj, form, change):
        # The status goes through service_set_status so the change is recorded (uptime
        # history): save the rest with the status the row had, then set the new one.
        status = obj.status
        obj.status = form.initial.get("status", ComponentStatus.OPERATIONAL)
        super().save_model(request, obj, form, change)
        service_set_status(service=obj, status=status, now=None if change else obj.created_at)


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    form = TargetForm
    list_display = ("name", "service", "kind", "enabled")
    list_filter = ("kind", "enabled")
    search_fields = ("name", "service__name")
    list_select_related = ("service",)
