"""The alert groups panel on the incident page (registered in `AlertsConfig.ready()`)."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import timezone

from accounts.permissions import Perm, user_has_perm

from .selectors import incident_alerts

PANEL_ROWS = 5


def incident_alerts_panel(request, incident) -> str | None:
    """Linked groups: counts by status and the most recent few (two queries; none without)."""
    if not user_has_perm(request.user, Perm.ALERTS_READ):
        return None
    linked = incident_alerts(incident.pk, limit=PANEL_ROWS)
    if linked is None:
        return None
    context = {"incident": incident, "linked": linked, "now": timezone.now()}
    return render_to_string("alerts/_incident_panel.html", context, request=request)
