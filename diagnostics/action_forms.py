"""Forms of the remediation pages: preview an action, confirm it, reject it.

The preview form has one field per parameter of the chosen action, made from the action's DRF
serializer (a number box for an integer, a menu for a choice, a checkbox for a flag, text for
the rest), so people never type JSON. The form only turns what they typed into the params dict;
the action's serializer, called by `remediation.action_preview`, is the one judge of whether the
values are valid, so the page and the API cannot disagree. Its errors come back onto the fields.

`force` parameters are shown to admins only: the service refuses them from anyone else anyway.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django import forms
from django.urls import reverse
from rest_framework import serializers

from accounts.permissions import Role, user_role

from .actions.base import Action

PARAM_PREFIX = "param_"
ADMIN_ONLY_PARAMS = ("force",)
MAX_PREFILL_CHARS = 5000
MAX_REASON_CHARS = 5000


# --- Parameters as form fields ----------------------------------------------------------------


def _param_fields(action: Action) -> dict[str, serializers.Field]:
    if action.params_class is None:
        return {}
    return dict(action.params_class().fields.items())


def _default(spec: serializers.Field):
    default = spec.default
    if default is serializers.empty or callable(default):
        return None
    return default


def _form_field(spec: serializers.Field) -> forms.Field:
    """A form field for one serializer field; values stay text unless the type is plain."""
    common = {
        "required": spec.required,
        "help_text": str(spec.help_text or ""),
        "label": spec.label or "",
    }
    bounds = {
        key: getattr(spec, key)
        for key in ("min_value", "max_value")
        if getattr(spec, key, None) is not None
    }
    if isinstance(spec, serializers.BooleanField):
        return forms.BooleanField(**{**common, "required": False})
    if isinstance(spec, serializers.IntegerField):
        return forms.IntegerField(**common, **bounds)
    if isinstance(spec, serializers.FloatField | serializers.DecimalField):
        return forms.FloatField(**common, **bounds)
    if isinstance(spec, serializers.ChoiceField):
        choices = [(str(key), str(label)) for key, label in spec.choices.items()]
        if not spec.required:
            choices = [("", "—"), *choices]
        elif _default(spec) is None:  # a risky choice is never made by the form's first option
            choices = [("", "Choose…"), *choices]
        return forms.ChoiceField(choices=choices, **common)
    if isinstance(spec, serializers.ListField):
        field = forms.CharField(**common)
        field.help_text = (field.help_text + " Comma-separated.").strip()
        field.widget.attrs["placeholder"] = "e.g. 0, 1, 2"
        return field
    if isinstance(spec, serializers.DateTimeField):
        field = forms.CharField(**common)
        field.widget.attrs["placeholder"] = "2026-01-31T10:00:00Z"
        return field
    if isinstance(spec, serializers.DictField | serializers.JSONField):
        field = forms.CharField(widget=forms.Textarea(attrs={"rows": 2, "class": "mono"}), **common)
        field.help_text = (field.help_text + " A JSON object.").strip()
        return field
    return forms.CharField(max_length=getattr(spec, "max_length", None), **common)


def _as_text(spec: serializers.Field, value) -> object:
    """A param value as its form field shows it (lists comma-separated, objects as JSON)."""
    if value is None:
        return ""
    if isinstance(spec, serializers.BooleanField):
        return bool(value)
    if isinstance(spec, serializers.ListField) and isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _from_text(spec: serializers.Field, value):
    """What the action's serializer is given for a typed value (None: leave the param out)."""
    if isinstance(spec, serializers.BooleanField):
        return bool(value)
    if value in (None, ""):
        return None
    if isinstance(spec, serializers.ListField):
        return [item.strip() for item in str(value).split(",") if item.strip()]
    if isinstance(spec, serializers.DictField | serializers.JSONField):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON ({exc.msg}).") from exc
    return value


def may_force(user) -> bool:
    return user_role(user) == Role.ADMIN


def shown_params(action: Action, user) -> dict[str, serializers.Field]:
    return {
        name: spec
        for name, spec in _param_fields(action).items()
        if name not in ADMIN_ONLY_PARAMS or may_force(user)
    }


def params_as_form_data(action: Action, params: dict, user) -> list[tuple[str, str]]:
    """(field name, value) pairs that post `params` again through the form ("Preview again")."""
    pairs = []
    for name, spec in shown_params(action, user).items():
        if name not in params:
            continue
        value = _as_text(spec, params[name])
        if value is True:
            pairs.append((PARAM_PREFIX + name, "on"))
        elif value not in (False, ""):
            pairs.append((PARAM_PREFIX + name, str(value)))
    return pairs


def parse_prefill(text: str) -> dict:
    """The `params` JSON of a prefilled link; anything else is ignored (it is only a prefill)."""
    if not text or len(text) > MAX_PREFILL_CHARS:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


# --- The forms --------------------------------------------------------------------------------


class ActionPreviewForm(forms.Form):
    """Target, parameters and an optional reason for one action on the incident's targets."""

    action = forms.CharField(widget=forms.HiddenInput)
    run = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    target = forms.ChoiceField(label="Target")
    reason = forms.CharField(
        label="Why",
        required=False,
        max_length=MAX_REASON_CHARS,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Optional. Filled in when you confirm; kept with the request on the timeline.",
    )

    def __init__(self, *args, action: Action, targets, user, prefill: dict | None = None, **kw):
        super().__init__(*args, **kw)
        self.action_plugin = action
        self.targets = {str(target.pk): target for target in targets}
        self.fields["target"].choices = [
            (str(target.pk), f"{target.service.name} / {target.name}") for target in targets
        ]
        self.specs = shown_params(action, user)
        prefill = prefill or {}
        for name, spec in self.specs.items():
            field = _form_field(spec)
            field.label = field.label or name.replace("_", " ").capitalize()
            field.param_name = name
            value = prefill.get(name, _default(spec))
            if value is not None:
                field.initial = _as_text(spec, value)
            self.fields[PARAM_PREFIX + name] = field
        # Order: target, the params, then the reason.
        order = ["action", "run", "target", *(PARAM_PREFIX + n for n in self.specs), "reason"]
        self.order_fields(order)

    @property
    def param_fields(self):
        return [self[PARAM_PREFIX + name] for name in self.specs]

    def clean(self):
        data = super().clean()
        params = {}
        for name, spec in self.specs.items():
            key = PARAM_PREFIX + name
            if key not in data:
                continue  # its own validation failed: the error is on the field
            try:
                value = _from_text(spec, data[key])
            except forms.ValidationError as exc:
                self.add_error(key, exc)
                continue
            if value is not None:
                params[name] = value
        data["params"] = params
        if data.get("target") in self.targets:
            data["target_obj"] = self.targets[data["target"]]
        return data

    def add_service_errors(self, errors) -> list[str]:
        """Put the action serializer's errors on the param fields; return the rest as lines."""
        rest: list[str] = []
        items = errors.items() if isinstance(errors, dict) else [("", errors)]
        for name, problems in items:
            lines = [str(problem) for problem in _flatten(problems)]
            key = PARAM_PREFIX + str(name)
            if key in self.fields:
                self.add_error(key, lines)
            else:
                label = "" if name in ("", "non_field_errors", "params") else f"{name}: "
                rest.extend(f"{label}{line}" for line in lines)
        return rest


def _flatten(problems) -> list:
    if isinstance(problems, dict):
        return [f"{key}: {line}" for key, value in problems.items() for line in _flatten(value)]
    if isinstance(problems, list | tuple):
        return [line for item in problems for line in _flatten(item)]
    return [problems]


class ConfirmForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput, max_length=200)
    reason = forms.CharField(
        label="Why (kept on the timeline)",
        required=False,
        max_length=MAX_REASON_CHARS,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class RejectForm(forms.Form):
    reason = forms.CharField(
        label="Why not",
        max_length=MAX_REASON_CHARS,
        widget=forms.TextInput(attrs={"placeholder": "Reason for rejecting"}),
        error_messages={"required": "Say why you reject it."},
    )


# --- Links from a probe finding to a prefilled preview ----------------------------------------


def prefill_url(incident_number: int, suggestion: dict) -> str:
    """The preview form with the suggested action, target, run and params filled in."""
    query = urlencode(
        {
            "action": suggestion["action"],
            "target": suggestion["target"],
            "run": suggestion["run"],
            "params": json.dumps(suggestion["params"], ensure_ascii=False, sort_keys=True),
        }
    )
    return f"{reverse('diagnostics:action_new', args=[incident_number])}?{query}"
