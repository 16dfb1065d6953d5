"""Evidence gates: checks other apps attach to playbook moves, without the core importing them.

A severity policy can ask for evidence before a step is left (e.g. P0/P1 need a finished
diagnosis before `investigating → mitigating`). Diagnostics registers the check from its
AppConfig.ready():

    register_gate("diagnosis", check)

`check(incident, current, to) -> GateOutcome | None` returns None when the gate does not apply
to this move. A failed gate blocks the move unless the commander gives a waiver reason; the
outcome (passed, waived) is recorded on the status-change timeline event either way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GateOutcome:
    name: str
    passed: bool
    evidence: str  # what satisfied the gate, or what is missing

    def as_dict(self) -> dict:
        return asdict(self)


class EvidenceRequired(Exception):
    """A gate failed and no waiver was given."""

    def __init__(self, failed: list[GateOutcome]):
        self.failed = failed
        super().__init__("; ".join(outcome.evidence for outcome in failed))


Gate = Callable[..., "GateOutcome | None"]
_gates: dict[str, Gate] = {}


def register_gate(name: str, check: Gate) -> None:
    _gates[name] = check


def unregister_gate(name: str) -> None:
    _gates.pop(name, None)


def evaluate(incident, current: str, to: str) -> list[GateOutcome]:
    """Every applicable gate's outcome for the move. A gate that crashes fails closed."""
    outcomes = []
    for name, check in list(_gates.items()):
        try:
            outcome = check(incident, current, to)
        except Exception:
            logger.exception("evidence gate %r failed on %s", name, incident.ref)
            outcome = GateOutcome(name, False, f"gate {name} could not be checked")
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes
