"""The postmortem panel of the incident page.

Shows the incident's postmortem — state, due or overdue, owner, action items open of total and
a link — or, for a resolved incident without one (severities where it is optional), a "Start
postmortem" button for writers. Nothing for an open incident without one. One query.
"""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import timezone

from accounts.permissions import Perm, user_has_perm

from . import selectors
from .services import RESOLVED_STATUSES


def render_incident_panel(request, incident):
    user = request.user
    if not user_has_perm(user, Perm.POSTMORTEMS_READ):
        return None
    postmortem = selectors.incident_postmortem(incident.pk)
    can_start = (
        postmortem is None
        and incident.status in RESOLVED_STATUSES
        and user_has_perm(user, Perm.POSTMORTEMS_WRITE)
    )
    if postmortem is None and not can_start:
        return None
    context = {
        "incident": incident,
        "postmortem": postmortem,
        "can_start": can_start,
        "now": timezone.now(),
    }
    return render_to_string("postmortems/_incident_panel.html", context, request=request)
