"""Forms of the diagnostics pages: starting runs on an incident, verified resolution, runbooks.

The forms only parse what people typed (JSON params, choices limited to what applies to the
incident); the rules themselves — params valid for the probe, one enabled runbook per symptom,
target kind matching the probe — are checked by the service layer and the runbook serializer
the API uses, so the page and the API cannot disagree.
"""

from __future__ import annotations

import json

from django import forms
from django.conf import settings

from incidents.models import Symptom

from .models import Runbook
from .probes import registry

PARAMS_HELP = (
    'A JSON object, e.g. {"latency_warning_ms": 500}. Empty or {} uses the probe\'s defaults; '
    "\"timeout_s\" sets this step's timeout. See the probe catalogue for each probe's parameters."
)
MAX_PARAMS_CHARS = 5000
MAX_STEPS = 50


def parse_params(text: str) -> dict:
    """The JSON object typed into a params box; blank means {}."""
    text = (text or "").strip()
    if not text:
        return {}
    if len(text) > MAX_PARAMS_CHARS:
        raise forms.ValidationError(f"At most {MAX_PARAMS_CHARS} characters.")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise forms.ValidationError(
            f"Not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})."
        ) from exc
    if not isinstance(value, dict):
        raise forms.ValidationError('Must be a JSON object, e.g. {"threshold": 5}.')
    return value


def params_text(params: dict | None) -> str:
    return json.dumps(params or {}, ensure_ascii=False)


def probe_choices(extra: str = "") -> list:
    """Probes grouped by target kind, for a <select> with optgroups."""
    by_kind: dict[str, list[tuple[str, str]]] = {}
    for probe in sorted(registry.all(), key=lambda p: (p.kind, p.name)):
        by_kind.setdefault(probe.kind, []).append((probe.name, f"{probe.title} ({probe.name})"))
    choices: list = [("", "Choose a probe…")]
    if extra and extra not in registry:
        choices.append((extra, f"{extra} (not installed)"))
    choices.extend((kind, options) for kind, options in by_kind.items())
    return choices


# --- Starting on an incident ------------------------------------------------------------------


class RunbookRunForm(forms.Form):
    runbook = forms.ModelChoiceField(
        queryset=Runbook.objects.filter(enabled=True).order_by("name"),
        empty_label=None,
        error_messages={"invalid_choice": "Pick an enabled runbook."},
    )

    def __init__(self, *args, runbooks: list[Runbook] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if runbooks is not None:  # already loaded by the page: no second query to render
            self.fields["runbook"].choices = [(rb.pk, rb.name) for rb in runbooks]


class ProbeStartForm(forms.Form):
    """One probe on one enabled target of the incident's services.

    The choice is a (target, probe) pair, so only probes of the target's kind can be picked.
    """

    probe_target = forms.ChoiceField(label="Probe and target")
    params = forms.CharField(
        label="Parameters",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "class": "mono", "placeholder": "{}"}),
        help_text="Optional JSON object; empty uses the probe's defaults.",
    )

    def __init__(self, *args, targets, **kwargs):
        super().__init__(*args, **kwargs)
        self.targets = {target.pk: target for target in targets}
        choices: list = [("", "Choose a probe and a target…")]
        for target in targets:
            probes = registry.for_kind(target.kind)
            options = [(f"{target.pk}:{probe.name}", probe.title) for probe in probes]
            if options:
                choices.append((f"{target.service.name} / {target.name} ({target.kind})", options))
        self.fields["probe_target"].choices = choices

    def clean_params(self):
        return parse_params(self.cleaned_data.get("params", ""))

    def clean(self):
        data = super().clean()
        value = data.get("probe_target")
        if value:
            target_id, _, probe = value.partition(":")
            data["target"] = self.targets[int(target_id)]
            data["probe"] = probe
        return data


class VerifyForm(forms.Form):
    runbook = forms.ModelChoiceField(
        queryset=Runbook.objects.filter(enabled=True).order_by("name"),
        required=False,
        empty_label="The affected services' health probes",
        label="Verify with",
        error_messages={"invalid_choice": "Pick an enabled runbook."},
    )
    watch_minutes = forms.IntegerField(
        label="Then watch for (minutes)",
        min_value=0,
        max_value=24 * 60,
        help_text="After resolving, re-run the same probes for this long; 0 = no watch.",
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=5000,
        widget=forms.TextInput(attrs={"placeholder": "What was fixed (optional)"}),
    )

    def __init__(self, *args, runbooks: list[Runbook] | None = None, **kwargs):
        kwargs.setdefault("initial", {"watch_minutes": settings.DIAGNOSTICS_WATCH_MINUTES})
        super().__init__(*args, **kwargs)
        if runbooks is not None:
            self.fields["runbook"].choices = [("", self.fields["runbook"].empty_label)] + [
                (rb.pk, rb.name) for rb in runbooks
            ]


# --- Runbook editor ---------------------------------------------------------------------------


class RunbookForm(forms.Form):
    name = forms.CharField(max_length=120)
    symptom = forms.ChoiceField(
        choices=[("", "None: run by hand only"), *Symptom.choices],
        required=False,
        help_text="Declaring an incident with this symptom runs the runbook automatically "
        "(one enabled runbook per symptom).",
    )
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=5000
    )
    suggested_remediations = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=20_000,
        help_text="Markdown: what to try when the probes confirm the symptom.",
    )
    enabled = forms.BooleanField(required=False, initial=True)

    @classmethod
    def for_runbook(cls, runbook: Runbook | None, data=None):
        initial = None
        if runbook is not None:
            initial = {
                "name": runbook.name,
                "symptom": runbook.symptom,
                "description": runbook.description,
                "suggested_remediations": runbook.suggested_remediations,
                "enabled": runbook.enabled,
            }
        return cls(data, initial=initial, prefix="runbook")


class StepForm(forms.Form):
    probe = forms.ChoiceField()
    title = forms.CharField(max_length=200, required=False, help_text="Empty: the probe's title.")
    target_name = forms.CharField(
        max_length=100,
        required=False,
        label="Only target named",
        help_text="Empty: every target of the probe's kind.",
    )
    params = forms.CharField(
        label="Parameters",
        required=False,
        initial="{}",
        widget=forms.Textarea(attrs={"rows": 2, "class": "mono"}),
        help_text=PARAMS_HELP,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = self.initial.get("probe", "") if self.initial else ""
        self.fields["probe"].choices = probe_choices(extra=current)

    def clean_params(self):
        return parse_params(self.cleaned_data.get("params", ""))


class BaseStepFormSet(forms.BaseFormSet):
    ordering_widget = forms.NumberInput(attrs={"min": 0, "class": "step-order"})

    def add_fields(self, form, index):
        super().add_fields(form, index)
        form.fields["ORDER"].label = "Position"
        if "DELETE" in form.fields:
            form.fields["DELETE"].label = "Remove"

    def steps(self) -> list[dict]:
        """The kept steps in their new order, as the runbook serializer takes them."""
        return [
            {
                "position": position,
                "probe": form.cleaned_data["probe"],
                "title": form.cleaned_data.get("title", ""),
                "params": form.cleaned_data.get("params") or {},
                "target_name": form.cleaned_data.get("target_name", ""),
            }
            for position, form in enumerate(self.ordered_forms)
        ]


def step_formset(runbook: Runbook | None, data=None, *, extra: int = 1) -> BaseStepFormSet:
    initial = []
    if runbook is not None:
        initial = [
            {
                "probe": step.probe,
                "title": step.title,
                "target_name": step.target_name,
                "params": params_text(step.params),
                "ORDER": position,
            }
            for position, step in enumerate(runbook.steps.all())
        ]
    formset_class = forms.formset_factory(
        StepForm,
        formset=BaseStepFormSet,
        extra=extra,
        can_order=True,
        can_delete=True,
        max_num=MAX_STEPS,
        validate_max=True,
    )
    return formset_class(data, initial=initial, prefix="steps")
