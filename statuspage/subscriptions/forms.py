"""The public subscribe form: email or webhook, optionally some components. Works without JS."""

from __future__ import annotations

from django import forms
from django.core.validators import URLValidator

from catalog.models import Service

from ..models import SubscriberKind
from ..selectors import PublicComponents, public_components


def component_choices(components: PublicComponents) -> list[tuple[str, list[tuple[str, str]]]]:
    """(group name, [(component id, name)]) in page order; ungrouped ones under "Other"."""
    choices = [
        (group.name, [(c.id, c.name) for c in group.components]) for group in components.groups
    ]
    if components.ungrouped:
        label = "Other" if choices else ""
        choices.append((label, [(c.id, c.name) for c in components.ungrouped]))
    return choices


class WebURLField(forms.URLField):
    # Django's URLField also accepts ftp(s); webhooks are http(s) only.
    default_validators = [URLValidator(schemes=["http", "https"])]


class SubscribeForm(forms.Form):
    kind = forms.ChoiceField(
        choices=SubscriberKind.choices,
        initial=SubscriberKind.EMAIL,
        widget=forms.RadioSelect,
        label="Get updates by",
    )
    email = forms.EmailField(
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "placeholder": "you@example.com"}),
    )
    url = WebURLField(
        required=False,
        max_length=500,
        assume_scheme="https",
        label="Webhook URL",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/hooks/status"}),
    )
    components = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Components"
    )

    def __init__(self, *args, components: PublicComponents | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.grouped = component_choices(components or public_components())
        self.fields["components"].choices = [
            choice for _group, choices in self.grouped for choice in choices
        ]

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind == SubscriberKind.EMAIL and not data.get("email"):
            self.add_error("email", "Enter the address to send updates to.")
        if kind == SubscriberKind.WEBHOOK and not data.get("url"):
            self.add_error("url", "Enter the URL to POST updates to.")
        return data

    @property
    def selected_components(self) -> set[str]:
        """The ids ticked in the submitted form (re-shown after an error)."""
        return {str(value) for value in self["components"].value() or ()}

    def chosen_services(self) -> list[Service]:
        ids = [int(pk) for pk in self.cleaned_data.get("components") or ()]
        return list(Service.objects.public().filter(pk__in=ids))
