"""Connect maintenance to the other apps (called once from AppConfig.ready).

Maintenance reaches into alerts and diagnostics through their hooks, never the other way round:
alerts ask the suppression check, diagnostics tell us when a snapshot finished.
"""

from __future__ import annotations


def connect() -> None:
    from alerts.suppression import register_suppression_check
    from diagnostics.services import on_diagnosis_complete
    from incidents import events, panels
    from ops_portal.timeline import RegisteredTimeline, register_timeline

    from . import notices, procedure_panel, services, snapshot_log
    from .models import MaintenanceWindow, WindowEvent

    events.register_topic(notices.NOTICE_TOPIC)
    register_suppression_check(services.service_in_maintenance)
    on_diagnosis_complete(snapshot_log.log_finished_snapshot)
    register_timeline(
        RegisteredTimeline(
            label="maintenance window",
            owner_model=MaintenanceWindow,
            entry_model=WindowEvent,
            owner_fk="window",
            ref_column="id",
            ref_prefix="MW-",
        )
    )
    panels.register_panel(
        "procedures", procedure_panel.render_incident_panel, stylesheets=("css/checklists.css",)
    )
