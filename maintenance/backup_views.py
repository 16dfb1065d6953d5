"""Backup check pages (mounted at /maintenance/backups/): the list with the run form and the
schedules, one check's result, and the POST actions behind the forms.

Reading needs MAINTENANCE_READ (every role); running a check and changing schedules need
MAINTENANCE_MANAGE (commanders). Actions are plain POSTs through maintenance.backup.services; a
refused request (MaintenanceError: a dump outside the dump directory, a missing file, a
non-PostgreSQL target) re-renders the list with the message and status 400, never a 500.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import Perm, require_perm, user_has_perm

from .backup import services
from .backup.paths import dump_directory
from .backup_forms import BackupRunForm, BackupScheduleForm, postgres_targets
from .errors import MaintenanceError
from .models import BackupSchedule, BackupVerification

PAGE_SIZE = 25


def _list_page(request, *, run_form=None, schedule_form=None, error=None, status=200):
    checks = (
        BackupVerification.objects.select_related(
            "target__service", "requested_by", "window", "schedule"
        )
        .defer("schema_diff", "row_counts")
        .order_by("-created_at", "-id")
    )
    page = Paginator(checks, PAGE_SIZE).get_page(request.GET.get("page"))
    can_manage = user_has_perm(request.user, Perm.MAINTENANCE_MANAGE)
    context = {
        "page": page,
        "schedules": BackupSchedule.objects.select_related("target__service").order_by(
            "next_run_at", "id"
        ),
        "can_manage": can_manage,
        "run_form": run_form or (BackupRunForm() if can_manage else None),
        "schedule_form": schedule_form or (BackupScheduleForm() if can_manage else None),
        "dump_directory": dump_directory() if can_manage else None,
        "has_targets": can_manage and postgres_targets().exists(),
        "error": error,
    }
    return render(request, "maintenance/backup_list.html", context, status=status)


@require_GET
@require_perm(Perm.MAINTENANCE_READ)
def backup_list(request):
    return _list_page(request)


@require_GET
@require_perm(Perm.MAINTENANCE_READ)
def backup_detail(request, pk: int):
    check = get_object_or_404(
        BackupVerification.objects.select_related(
            "target__service", "requested_by", "window", "schedule"
        ),
        pk=pk,
    )
    rows = sorted(check.row_counts.items())
    context = {
        "check": check,
        "count_rows": [
            {
                "table": table,
                "source": entry.get("source"),
                "restored": entry.get("restored"),
                "matches": entry.get("source") == entry.get("restored"),
            }
            for table, entry in rows
        ],
        "diff_lines": [(_diff_class(line), line) for line in check.schema_diff.splitlines()],
        "finished": check.state in services.FINISHED,
    }
    if request.htmx:
        return render(request, "maintenance/backup_result.html", context)
    return render(request, "maintenance/backup_detail.html", context)


def _diff_class(line: str) -> str:
    if line.startswith(("+++", "---", "@@")):
        return "meta"
    return {"+": "add", "-": "del"}.get(line[:1], "")


@require_POST
@require_perm(Perm.MAINTENANCE_MANAGE)
def backup_run(request):
    form = BackupRunForm(request.POST)
    if not form.is_valid():
        return _list_page(request, run_form=form, status=400)
    try:
        check = services.backup_check_request(
            target=form.cleaned_data["target"],
            dump_path=form.cleaned_data["dump_path"],
            window=form.cleaned_data["window"],
            by=request.user,
        )
    except MaintenanceError as exc:
        form.add_error("dump_path" if exc.code.startswith("dump") else "target", exc.message)
        return _list_page(request, run_form=form, error=exc, status=exc.http_status)
    messages.success(request, f"Backup check #{check.pk} of {check.target} is queued.")
    return redirect(reverse("maintenance:backup-detail", args=[check.pk]))


@require_POST
@require_perm(Perm.MAINTENANCE_MANAGE)
def backup_schedule_save(request):
    """Create the target's schedule, or change it when it has one."""
    form = BackupScheduleForm(request.POST)
    if not form.is_valid():
        return _list_page(request, schedule_form=form, status=400)
    values = form.cleaned_data
    existing = BackupSchedule.objects.filter(target=values["target"]).first()
    try:
        schedule = services.backup_schedule_save(schedule=existing, **values)
    except MaintenanceError as exc:
        form.add_error(None, exc.message)
        return _list_page(request, schedule_form=form, error=exc, status=exc.http_status)
    messages.success(request, f"Saved: {schedule}.")
    return redirect(reverse("maintenance:backup-list"))


@require_POST
@require_perm(Perm.MAINTENANCE_MANAGE)
def backup_schedule_delete(request, pk: int):
    schedule = get_object_or_404(BackupSchedule.objects.select_related("target__service"), pk=pk)
    label = str(schedule)
    services.backup_schedule_delete(schedule=schedule)
    messages.success(request, f"Deleted: {label}.")
    return redirect(reverse("maintenance:backup-list"))
