"""Forms of the postmortem pages.

Times are typed and shown in UTC (the postmortem is read across time zones and the incident's
timeline speaks UTC). Text areas compare and save their text with normalised line ends and no
surrounding blank space: browsers send CRLF, and an untouched field must not count as an edit —
on a published postmortem every edit opens the next revision.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django import forms
from django.utils import timezone

from accounts.models import User
from catalog.models import Service

from .models import SECTIONS, ActionPriority, ActionStatus, PostmortemState

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


def _users():
    return User.objects.filter(is_active=True).order_by("username")


def normalise_text(value) -> str:
    return (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()


class TextAreaField(forms.CharField):
    """Markdown text: CRLF → LF and stripped, so re-saving untouched text changes nothing."""

    def __init__(self, *, rows: int = 5, placeholder: str = "", **kwargs):
        attrs = {"rows": rows}
        if placeholder:
            attrs["placeholder"] = placeholder
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 50_000)
        super().__init__(widget=forms.Textarea(attrs=attrs), **kwargs)

    def to_python(self, value):
        return normalise_text(super().to_python(value))

    def has_changed(self, initial, data):
        return normalise_text(initial) != self.to_python(data)


class UTCDateTimeField(forms.DateTimeField):
    """A `datetime-local` input read and shown as UTC, at minute precision."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL)
    input_formats = [DATETIME_LOCAL, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]

    def to_python(self, value):
        with timezone.override(UTC):
            return super().to_python(value)

    def prepare_value(self, value):
        if isinstance(value, datetime) and timezone.is_aware(value):
            return value.astimezone(UTC).replace(tzinfo=None, second=0, microsecond=0)
        return value

    def has_changed(self, initial, data):
        # The due time computed at resolution has seconds; the input has not.
        if isinstance(initial, datetime):
            initial = initial.replace(second=0, microsecond=0)
        return super().has_changed(initial, data)


class PostmortemForm(forms.Form):
    """Every section and detail of one postmortem; `changes()` is what the person edited."""

    owner = forms.ModelChoiceField(queryset=_users(), required=False, empty_label="Nobody yet")
    due_at = UTCDateTimeField(label="Due (UTC)")
    impact_started_at = UTCDateTimeField(
        label="Impact started (UTC)",
        required=False,
        help_text="Before detection, if customers were hurt earlier; time to detect counts "
        "from here.",
    )
    affected_users = forms.CharField(
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "e.g. ~12% of EU checkouts"}),
    )
    customer_summary = TextAreaField(
        rows=3,
        label="Customer-facing summary",
        help_text="Optional. Plain words for the status page's incident history; nothing internal.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, heading, hint in SECTIONS:
            self.fields[name] = TextAreaField(label=heading, help_text=hint or None, rows=6)

    @classmethod
    def for_postmortem(cls, postmortem, data=None):
        initial = {name: getattr(postmortem, name) for name, _h, _hint in SECTIONS}
        initial.update(
            owner=postmortem.owner_id,
            due_at=postmortem.due_at,
            impact_started_at=postmortem.impact_started_at,
            affected_users=postmortem.affected_users,
            customer_summary=postmortem.customer_summary,
        )
        return cls(data, initial=initial)

    def section_fields(self):
        return [self[name] for name, _h, _hint in SECTIONS]

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.changed_data}


class CurationForm(forms.Form):
    """One curation change of one timeline event; fields left out of the POST stay as they are."""

    hidden = forms.TypedChoiceField(
        choices=[("1", "hide"), ("0", "show")],
        coerce=lambda value: value == "1",
        required=False,
        empty_value=None,
    )
    included = forms.TypedChoiceField(
        choices=[("1", "include"), ("0", "leave out")],
        coerce=lambda value: value == "1",
        required=False,
        empty_value=None,
    )
    annotation = forms.CharField(max_length=2000, required=False)

    def changes(self, data) -> dict:
        changes = {
            name: self.cleaned_data[name]
            for name in ("hidden", "included")
            if self.cleaned_data[name] is not None
        }
        if "annotation" in data:
            changes["annotation"] = self.cleaned_data["annotation"]
        return changes


class ReturnForm(forms.Form):
    reason = forms.CharField(max_length=500, required=False)


class ActionItemForm(forms.Form):
    title = forms.CharField(
        max_length=200, widget=forms.TextInput(attrs={"placeholder": "What will we change?"})
    )
    owner = forms.ModelChoiceField(queryset=_users(), required=False, empty_label="Nobody yet")
    due_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    priority = forms.ChoiceField(choices=ActionPriority.choices, initial=ActionPriority.MEDIUM)
    external_url = forms.URLField(
        max_length=500,
        required=False,
        label="Ticket link",
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://…"}),
    )
    service = forms.ModelChoiceField(queryset=None, required=False, empty_label="First service")

    def __init__(self, *args, services=(), **kwargs):
        super().__init__(*args, **kwargs)
        ids = [service.pk for service in services]
        self.fields["service"].queryset = Service.objects.filter(pk__in=ids).order_by("name")
        self.fields["service"].choices = [("", "First service")] + [
            (service.pk, service.name) for service in services
        ]


class ActionStatusForm(forms.Form):
    status = forms.ChoiceField(choices=ActionStatus.choices)
    reason = forms.CharField(max_length=500, required=False)


class PostmortemFilterForm(forms.Form):
    state = forms.ChoiceField(choices=[("", "Any state"), *PostmortemState.choices], required=False)
    mine = forms.BooleanField(required=False, label="Owned by me")
    overdue = forms.BooleanField(required=False, label="Overdue only")


UNFINISHED = "unfinished"
ANY_STATUS = "any"


class ActionItemFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[
            (UNFINISHED, "Open or in progress"),
            *ActionStatus.choices,
            (ANY_STATUS, "Any status"),
        ],
        required=False,
    )
    owner = forms.ChoiceField(required=False)
    service = forms.ModelChoiceField(
        queryset=None, required=False, to_field_name="slug", empty_label="Any service"
    )
    overdue = forms.BooleanField(required=False, label="Overdue only")

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = Service.objects.order_by("name")
        # "me" keeps the link shareable as "my items"; everyone else by username.
        self.fields["owner"].choices = [("", "Anyone"), ("me", "Me")] + [
            (u.username, u.display_name) for u in _users()
        ]
