"""The playbook as data: allowed transitions, the step each status belongs to, who may move.

Kept apart from services.py so pages and the API can show the allowed next states without
importing the write path.
"""

from __future__ import annotations

from accounts.permissions import Perm

from .models import Status, Step

# status → statuses it may move to. Resolving is allowed from every open state (false alarms,
# self-healing); re-opening goes back to investigating; closed is final.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.TRIGGERED: (Status.ACKNOWLEDGED, Status.RESOLVED),
    Status.ACKNOWLEDGED: (Status.INVESTIGATING, Status.MITIGATING, Status.RESOLVED),
    Status.INVESTIGATING: (Status.MITIGATING, Status.RESOLVED),
    Status.MITIGATING: (Status.INVESTIGATING, Status.RESOLVED),
    Status.RESOLVED: (Status.CLOSED, Status.INVESTIGATING),
    Status.CLOSED: (),
}

# The playbook step a status puts the incident in (shown as the current step).
STEP_OF_STATUS: dict[str, str] = {
    Status.TRIGGERED: Step.ACKNOWLEDGE,
    Status.ACKNOWLEDGED: Step.ASSESS,
    Status.INVESTIGATING: Step.ASSESS,
    Status.MITIGATING: Step.MITIGATE,
    Status.RESOLVED: Step.RESOLVE,
    Status.CLOSED: Step.COMMUNICATE,
}

# Acknowledging is what the person paged does, so responders may; every other move is the
# commander's call.
TRANSITION_PERMS: dict[str, Perm] = {Status.ACKNOWLEDGED: Perm.INCIDENTS_RESPOND}
DEFAULT_TRANSITION_PERM = Perm.INCIDENTS_COMMAND

# Button labels for the move into each status.
ACTION_LABELS: dict[str, str] = {
    Status.ACKNOWLEDGED: "Acknowledge",
    Status.INVESTIGATING: "Investigate",
    Status.MITIGATING: "Start mitigation",
    Status.RESOLVED: "Resolve",
    Status.CLOSED: "Close",
}


def allowed_targets(status: str) -> tuple[str, ...]:
    return TRANSITIONS.get(status, ())


def transition_perm(to: str) -> Perm:
    return TRANSITION_PERMS.get(to, DEFAULT_TRANSITION_PERM)


def action_label(current: str, to: str) -> str:
    if current == Status.RESOLVED and to == Status.INVESTIGATING:
        return "Reopen"
    if current == Status.MITIGATING and to == Status.INVESTIGATING:
        return "Back to investigating"
    return ACTION_LABELS[to]
