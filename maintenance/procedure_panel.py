"""The recovery procedures panel of the incident page.

Lists the procedures attached to the incident with their progress and tasks (responders tick
them here; the playbook shows the same tasks in their steps), and for commanders a menu to
attach another. It costs a fixed number of queries whatever the number of procedures and tasks:
the procedures with their templates, their tasks, and (commanders only) the attach menu.
"""

from __future__ import annotations

from django.template.loader import render_to_string

from accounts.permissions import Perm, user_has_perm
from incidents.models import Status

from . import procedures


def render_incident_panel(request, incident):
    user = request.user
    if not user_has_perm(user, Perm.INCIDENTS_READ):
        return None
    is_open = incident.status != Status.CLOSED
    attached = list(procedures.incident_procedures(incident.pk))
    can_attach = is_open and user_has_perm(user, Perm.INCIDENTS_COMMAND)
    choices = []
    if can_attach:
        taken = {procedure.template_id for procedure in attached}
        choices = [t for t in procedures.attachable_procedures() if t.pk not in taken]
    if not attached and not can_attach:
        return None
    cards = [
        {
            "procedure": procedure,
            "progress": procedures.progress_of(procedure),
            "tasks": list(procedure.tasks.all()),
        }
        for procedure in attached
    ]
    context = {
        "incident": incident,
        "cards": cards,
        "can_attach": can_attach,
        "choices": choices,
        "can_tick": is_open and user_has_perm(user, Perm.INCIDENTS_RESPOND),
    }
    return render_to_string("maintenance/_procedures_panel.html", context, request=request)
