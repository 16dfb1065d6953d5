"""Hooks diagnostics plugs into other apps (called once from AppConfig.ready)."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def connect() -> None:
    from incidents import events, gates, panels
    from ops_portal.metrics import register_scrape_collector

    from . import panels as diagnostics_panels
    from .metrics import ProbeRunCollector
    from .services import on_diagnosis_complete
    from .status_proposals import propose_from_diagnosis
    from .verification import diagnosis_gate

    events.subscribe("incident.declared", run_runbook_for_declared_incident)
    gates.register_gate("diagnosis", diagnosis_gate)
    register_scrape_collector(ProbeRunCollector())
    on_diagnosis_complete(propose_from_diagnosis)
    panels.register_panel(
        "diagnostics",
        diagnostics_panels.render_incident_panel,
        stylesheets=("css/diagnostics.css",),
    )


def run_runbook_for_declared_incident(event) -> None:
    """Declaring an incident with a symptom runs that symptom's runbook on its services."""
    from incidents.models import Incident

    from .models import Runbook
    from .services import runbook_start

    incident = Incident.objects.filter(pk=event.incident_id).first()
    if incident is None:
        return
    runbook = Runbook.objects.filter(symptom=incident.symptom, enabled=True).first()
    if runbook is None:
        return
    runbook_start(
        runbook=runbook,
        incident=incident,
        trigger=f"incident declared with symptom “{incident.get_symptom_display()}”",
    )
