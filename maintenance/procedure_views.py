"""Attaching a recovery procedure from the incident page (plain POST, redirect back)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.permissions import Perm, require_perm
from incidents.models import Incident

from . import procedures
from .errors import MaintenanceError


class AttachForm(forms.Form):
    template = forms.ModelChoiceField(
        queryset=procedures.attachable_procedures(),
        error_messages={
            "required": "Choose a recovery procedure.",
            "invalid_choice": "Choose an active recovery procedure.",
        },
    )


@require_POST
@require_perm(Perm.INCIDENTS_COMMAND)
def procedure_attach(request, incident_id: int):
    incident = get_object_or_404(Incident, pk=incident_id)
    page = reverse("incidents:detail", args=[incident.number])
    form = AttachForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["template"][0])
        return redirect(f"{page}#panel-procedures")
    template = form.cleaned_data["template"]
    try:
        attached = procedures.procedure_attach(
            incident=incident, template=template, by=request.user
        )
    except MaintenanceError as exc:
        messages.error(request, exc.message)
        return redirect(f"{page}#panel-procedures")
    count = attached.tasks.count()
    messages.success(
        request, f"“{template.name}” attached: {count} task{'s' if count != 1 else ''} added."
    )
    return redirect(f"{page}#procedure-{attached.pk}")
