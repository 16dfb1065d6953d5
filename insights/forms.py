"""The dashboard's filters, read from the query string by the page and the API alike.

`period` is a preset (`last_30`, `last_90`, `this_quarter`) or `custom` with `from` and `to`
(ISO dates, both included). Dates given without `period` mean custom; with a preset they are
ignored (the form keeps the last custom dates around while a preset is chosen). `severity` may
repeat (`severity=P0&severity=P1`); `service` is a service slug.
"""

from __future__ import annotations

from datetime import date

from django import forms

from catalog.models import Service
from incidents.models import Severity

from .period import DEFAULT_PRESET, MAX_DAYS, PRESETS, Filters, Period

CUSTOM = "custom"
# Far enough apart for any real history; keeps date arithmetic (the previous period) in range.
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)


class InsightsFilterForm(forms.Form):
    period = forms.ChoiceField(choices=[*PRESETS.items(), (CUSTOM, "Custom dates")], required=False)
    severity = forms.MultipleChoiceField(
        choices=[(level, level) for level in Severity.values],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    service = forms.ModelChoiceField(
        queryset=Service.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label="All services",
    )

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        # `from` is a Python keyword: these two are added here rather than declared above.
        date_input = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
        self.fields["from"] = forms.DateField(required=False, label="From", widget=date_input)
        self.fields["to"] = forms.DateField(required=False, label="To", widget=date_input)

    def clean(self):
        data = super().clean()
        start, end = data.get("from"), data.get("to")
        period = data.get("period") or (CUSTOM if start or end else DEFAULT_PRESET)
        data["period"] = period
        if period != CUSTOM or "from" in self.errors or "to" in self.errors:
            return data
        if start is None or end is None:
            raise forms.ValidationError("Custom dates need both a start and an end.")
        if not (EARLIEST <= start <= LATEST and EARLIEST <= end <= LATEST):
            raise forms.ValidationError(f"Dates must be between {EARLIEST} and {LATEST}.")
        if end < start:
            raise forms.ValidationError("The period ends before it starts.")
        if (end - start).days + 1 > MAX_DAYS:
            raise forms.ValidationError(f"A period is at most {MAX_DAYS} days long.")
        return data

    def period_and_filters(self) -> tuple[Period, Filters]:
        """Call after is_valid()."""
        data = self.cleaned_data
        if data["period"] == CUSTOM:
            period = Period(data["from"], data["to"])
        else:
            period = Period.from_preset(data["period"], self.today)
        return period, Filters(tuple(data.get("severity") or ()), data.get("service"))
