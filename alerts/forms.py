"""Forms of the alert pages: list filters, linking, integrations and routing rules."""

from __future__ import annotations

from django import forms

from catalog.models import Service
from incidents.models import Incident, Severity, Symptom

from .models import Integration, IntegrationKind, RouteAction
from .rule_services import RuleInvalid, conditions_from_text
from .selectors import STATUS_FILTERS

SEVERITY_WORDS = ("critical", "error", "warning", "info")
DEFAULT_WORD = [("", "Default")]
# Larger numbers overflow the database's integers (SQLite raises instead of matching nothing).
MAX_ID = 2**63 - 1


class GroupFilterForm(forms.Form):
    status = forms.ChoiceField(choices=list(STATUS_FILTERS.items()), required=False)
    integration = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    service = forms.SlugField(required=False, max_length=100)
    severity = forms.ChoiceField(choices=[("", "Any"), *Severity.choices], required=False)
    q = forms.CharField(required=False, max_length=200, strip=True)
    incident = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)

    def filters(self) -> dict:
        data = self.cleaned_data
        return {
            "status": data["status"] or "open",
            "integration_id": data["integration"],
            "service": data["service"],
            "severity": data["severity"],
            "q": data["q"],
            "incident_number": data["incident"],
        }


class LinkForm(forms.Form):
    incident = forms.ModelChoiceField(
        queryset=Incident.objects.open(),
        error_messages={"invalid_choice": "Pick an open incident."},
    )


class IntegrationForm(forms.Form):
    kind = forms.ChoiceField(choices=IntegrationKind.choices, initial=IntegrationKind.ALERTMANAGER)
    name = forms.CharField(
        max_length=100, widget=forms.TextInput(attrs={"placeholder": "e.g. Production Prometheus"})
    )
    default_service = forms.ModelChoiceField(
        queryset=Service.objects.order_by("name"),
        required=False,
        empty_label="None (from the alert's service label)",
        help_text="Used when no rule and no `service` label names a catalog service.",
    )
    default_severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.P2)
    rate_limit_per_minute = forms.IntegerField(
        min_value=0,
        max_value=1_000_000,
        initial=0,
        label="Rate limit per minute",
        help_text="Alerts accepted per minute; 0 uses the site default.",
    )
    auto_resolve_incidents = forms.BooleanField(
        required=False,
        label="Resolve P2/P3 incidents when all their alerts resolve",
        help_text="P0/P1 incidents always wait for a person.",
    )
    severity_critical = forms.ChoiceField(
        label="critical", choices=DEFAULT_WORD + Severity.choices, required=False
    )
    severity_error = forms.ChoiceField(
        label="error", choices=DEFAULT_WORD + Severity.choices, required=False
    )
    severity_warning = forms.ChoiceField(
        label="warning", choices=DEFAULT_WORD + Severity.choices, required=False
    )
    severity_info = forms.ChoiceField(
        label="info", choices=DEFAULT_WORD + Severity.choices, required=False
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if Integration.objects.filter(name=name).exists():
            raise forms.ValidationError("An integration with this name exists.")
        return name

    def severity_map_fields(self):
        return [self[f"severity_{word}"] for word in SEVERITY_WORDS]

    def severity_map(self) -> dict[str, str]:
        """Only the words set here; the rest keep the built-in mapping."""
        return {
            word: self.cleaned_data[f"severity_{word}"]
            for word in SEVERITY_WORDS
            if self.cleaned_data.get(f"severity_{word}")
        }


class RuleForm(forms.Form):
    name = forms.CharField(max_length=100)
    conditions = forms.CharField(
        required=False,
        max_length=10_000,
        widget=forms.Textarea(
            attrs={
                "rows": 3,
                "placeholder": "labels.service equals checkout\nlabels.alertname regex ^Disk\n"
                "labels.team exists",
                "spellcheck": "false",
            }
        ),
        help_text="One per line: field (labels.<name>, annotations.<name>, summary, source, "
        "severity, dedup_key), op (equals, not_equals, regex, exists, not_exists), value. "
        "All must match; none matches everything.",
    )
    service = forms.ModelChoiceField(
        queryset=Service.objects.order_by("name"), required=False, empty_label="Default"
    )
    severity = forms.ChoiceField(choices=[("", "Default"), *Severity.choices], required=False)
    symptom = forms.ChoiceField(choices=[("", "Default"), *Symptom.choices], required=False)
    action = forms.ChoiceField(choices=RouteAction.choices, initial=RouteAction.AUTO)

    def clean_conditions(self) -> list[dict]:
        try:
            return conditions_from_text(self.cleaned_data["conditions"])
        except RuleInvalid as exc:
            raise forms.ValidationError(exc.errors) from None
