"""The diagnostics panel of the incident page (the pages land in the next commit)."""

from __future__ import annotations


def render_incident_panel(request, incident):
    return None
