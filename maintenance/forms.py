"""Forms of the maintenance pages.

Times are typed and shown in UTC whatever the portal's TIME_ZONE: a window is announced to
people in several time zones and the status page speaks UTC, so the form says so and means it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django import forms
from django.utils import timezone

from accounts.models import User
from catalog.models import Service

from .models import ChecklistKind, ChecklistTemplate, Phase, WindowState

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class UTCDateTimeField(forms.DateTimeField):
    """A `datetime-local` input read and shown as UTC."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL)
    input_formats = [DATETIME_LOCAL, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]

    def to_python(self, value):
        with timezone.override(UTC):
            return super().to_python(value)

    def prepare_value(self, value):
        if isinstance(value, datetime) and timezone.is_aware(value):
            return value.astimezone(UTC).replace(tzinfo=None, second=0, microsecond=0)
        return value

    def has_changed(self, initial, data):
        # The input has minute precision: a time planned through the API with seconds is not
        # "changed" by saving the form untouched.
        if isinstance(initial, datetime):
            initial = initial.replace(second=0, microsecond=0)
        return super().has_changed(initial, data)


def _users():
    return User.objects.filter(is_active=True).order_by("username")


class WindowForm(forms.Form):
    """Plan a window, or edit one.

    A window that has started keeps its title, services and times (the status page and the
    notices already speak of them): only the fields in `STARTED_FIELDS` stay editable, and the
    end moves through the extension form, which logs a reason.
    """

    STARTED_FIELDS = ("description", "owner", "rollback_plan", "public")

    title = forms.CharField(
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": "What changes, e.g. “PostgreSQL 16 upgrade”"}),
    )
    description = forms.CharField(
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Markdown. Shown on the public status page when the window is public.",
    )
    services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.order_by("name"), widget=forms.CheckboxSelectMultiple
    )
    scheduled_start = UTCDateTimeField(label="Start (UTC)")
    scheduled_end = UTCDateTimeField(label="End (UTC)")
    owner = forms.ModelChoiceField(queryset=_users(), required=False, empty_label="Nobody yet")
    rollback_plan = forms.CharField(
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Markdown. Required before the window can start.",
    )
    public = forms.BooleanField(
        required=False,
        initial=True,
        label="Public: show on the status page and announce to subscribers",
    )
    template = forms.ModelChoiceField(
        queryset=ChecklistTemplate.objects.filter(kind=ChecklistKind.MAINTENANCE, active=True),
        required=False,
        empty_label="The default checklist",
        label="Checklist",
        help_text="Its items are copied into the window; later edits of the template do not "
        "change them.",
    )
    confirm_overlap = forms.BooleanField(required=False)

    def __init__(self, *args, window=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.window = window
        if window is None:
            default = next((t for t in self.fields["template"].queryset if t.is_default), None)
            self.initial.setdefault("template", default.pk if default else None)
            if user is not None:
                self.initial.setdefault("owner", user.pk)
            self.fields["confirm_overlap"].label = "Create anyway"
        else:
            del self.fields["template"]
            self.fields["confirm_overlap"].label = "Save anyway"
            if window.state != WindowState.SCHEDULED:
                for name in list(self.fields):
                    if name not in (*self.STARTED_FIELDS, "confirm_overlap"):
                        del self.fields[name]

    @classmethod
    def for_window(cls, window, data=None):
        initial = {
            "title": window.title,
            "description": window.description,
            "services": [service.pk for service in window.services.all()],
            "scheduled_start": window.scheduled_start,
            "scheduled_end": window.scheduled_end,
            "owner": window.owner_id,
            "rollback_plan": window.rollback_plan,
            "public": window.public,
        }
        return cls(data, initial=initial, window=window)

    @property
    def times_locked(self) -> bool:
        return "scheduled_start" not in self.fields

    def clean(self):
        data = super().clean()
        start, end = data.get("scheduled_start"), data.get("scheduled_end")
        if start and end and end <= start:
            self.add_error("scheduled_end", "The end must be after the start.")
        return data

    def changes(self) -> dict:
        """The edited fields and their new values (what `window_update` takes)."""
        return {
            name: self.cleaned_data[name]
            for name in self.changed_data
            if name not in ("confirm_overlap", "template")
        }


class ExtendForm(forms.Form):
    scheduled_end = UTCDateTimeField(label="New end (UTC)")
    reason = forms.CharField(
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "Why it needs longer"}),
    )

    def __init__(self, *args, window=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.window = window
        if window is not None and not self.is_bound:
            self.initial.setdefault("scheduled_end", window.scheduled_end)

    def clean_scheduled_end(self):
        end = self.cleaned_data["scheduled_end"]
        if self.window is not None and end <= self.window.scheduled_end:
            raise forms.ValidationError("An extension must end later than the current end.")
        return end


class StartForm(forms.Form):
    override_reason = forms.CharField(required=False, max_length=2_000)


class CompleteForm(forms.Form):
    override_reason = forms.CharField(required=False, max_length=2_000)
    acknowledge_regression = forms.BooleanField(required=False)


class CancelForm(forms.Form):
    reason = forms.CharField(
        max_length=2_000, widget=forms.TextInput(attrs={"placeholder": "Why it is called off"})
    )


class NoteForm(forms.Form):
    body = forms.CharField(max_length=20_000, widget=forms.Textarea(attrs={"rows": 3}))


class ItemSetForm(forms.Form):
    done = forms.BooleanField(required=False)


class ItemAddForm(forms.Form):
    phase = forms.ChoiceField(
        choices=[(p.value, p.label) for p in Phase if p != Phase.PROCEDURE], initial=Phase.DURING
    )
    title = forms.CharField(max_length=200)
    required = forms.BooleanField(required=False, label="Required")


class FilterForm(forms.Form):
    """The list's query string: `view`, `service` (slug) and the calendar's `month`."""

    view = forms.ChoiceField(choices=[("list", "List"), ("calendar", "Calendar")], required=False)
    service = forms.ModelChoiceField(
        queryset=Service.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label="All services",
    )
    month = forms.RegexField(
        regex=r"^\d{4}-(0[1-9]|1[0-2])$",
        required=False,
        error_messages={"invalid": "Use YYYY-MM, e.g. 2025-03."},
    )

    def clean_month(self):
        value = self.cleaned_data["month"]
        if not value:
            return None
        year, month = (int(part) for part in value.split("-"))
        if not 1970 <= year <= 9998:
            raise forms.ValidationError("Pick a month between 1970 and 9998.")
        return year, month
