"""Connect postmortems to the other apps (called once from AppConfig.ready)."""

from __future__ import annotations


def connect() -> None:
    from incidents import events, panels

    from . import panel, reminders, services

    events.subscribe("incident.resolved", services.create_for_resolved)
    events.register_topic(reminders.REMINDER_TOPIC)
    panels.register_panel(
        "postmortem", panel.render_incident_panel, stylesheets=("css/postmortems.css",)
    )
