"""Forms of the incident pages."""

from __future__ import annotations

from django import forms

from accounts.models import User
from catalog.models import ComponentStatus, Service

from .models import Severity, SeverityPolicy, Symptom
from .services import PUBLIC_UPDATE_STATUSES


class DeclareForm(forms.Form):
    title = forms.CharField(
        max_length=200, widget=forms.TextInput(attrs={"placeholder": "What is broken, for whom?"})
    )
    severity = forms.ChoiceField(
        choices=Severity.choices, widget=forms.RadioSelect, initial=Severity.P2
    )
    services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    symptom = forms.ChoiceField(choices=Symptom.choices, initial=Symptom.OTHER)
    commander = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("username"), required=False
    )
    impact_summary = forms.CharField(
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Who is affected and how. Markdown.",
    )
    customer_facing = forms.BooleanField(required=False, label="Customers are affected")

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if user is not None and not self.is_bound:
            self.initial.setdefault("commander", user.pk)
        self.policies = {policy.level: policy for policy in SeverityPolicy.objects.all()}


class NoteForm(forms.Form):
    body = forms.CharField(max_length=20_000, widget=forms.Textarea(attrs={"rows": 3}))


class PublicUpdateForm(forms.Form):
    status = forms.ChoiceField(
        choices=[(s, s.capitalize()) for s in PUBLIC_UPDATE_STATUSES],
        widget=forms.Select(attrs={"id": "update-status"}),
    )
    body = forms.CharField(max_length=20_000, widget=forms.Textarea(attrs={"rows": 3}))
    component_status = forms.ChoiceField(
        choices=[("", "Leave component status unchanged"), *ComponentStatus.choices],
        required=False,
        widget=forms.Select(attrs={"id": "update-component"}),
    )


class SkipForm(forms.Form):
    reason = forms.CharField(max_length=500)
