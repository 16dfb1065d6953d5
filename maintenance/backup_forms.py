"""Forms of the backup checks page: run a check, save a schedule.

Both only collect input; the rules (PostgreSQL target, dump inside the dump directory, one
schedule per target) are the services' and come back as MaintenanceError.
"""

from __future__ import annotations

from django import forms

from catalog.models import Target, TargetKind

from .backup.services import MAX_INTERVAL_HOURS
from .models import FINISHED_STATES, MaintenanceWindow


def postgres_targets():
    return Target.objects.filter(kind=TargetKind.POSTGRES).select_related("service")


DUMP_HELP = (
    "A custom-format dump (pg_dump -Fc) inside the dump directory, relative to it. "
    "Empty: take a fresh pg_dump of the target."
)


def open_windows():
    return MaintenanceWindow.objects.exclude(state__in=FINISHED_STATES).order_by(
        "scheduled_start", "id"
    )


class BackupRunForm(forms.Form):
    target = forms.ModelChoiceField(queryset=postgres_targets(), empty_label=None)
    dump_path = forms.CharField(max_length=500, required=False, help_text=DUMP_HELP)
    window = forms.ModelChoiceField(
        queryset=open_windows(),
        required=False,
        empty_label="—",
        label="For maintenance window",
        help_text="Optional: the result is also written in the window's log.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = postgres_targets()
        self.fields["window"].queryset = open_windows()


class BackupScheduleForm(forms.Form):
    target = forms.ModelChoiceField(queryset=postgres_targets(), empty_label=None)
    dump_path = forms.CharField(max_length=500, required=False, help_text=DUMP_HELP)
    interval_hours = forms.IntegerField(
        min_value=1, max_value=MAX_INTERVAL_HOURS, initial=24, label="Every (hours)"
    )
    enabled = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = postgres_targets()
