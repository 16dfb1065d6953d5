"""Before/after health snapshots of a window: the services' health checks, run as diagnoses.

Starting a window runs the health probes of every enabled target of its services ("before");
moving it to verifying runs them again ("after"). `compare` pairs the runs by probe and target
and reports which got worse, which blocks completion until someone acknowledges it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from diagnostics.models import Diagnosis, Purpose
from diagnostics.probes.base import Status
from diagnostics.services import diagnosis_start, plan_health_check


def snapshot_start(window, services, phase: str, *, by) -> Diagnosis:
    """Start the health check of `services` for the window (runs on the probe workers)."""
    label = "Before" if phase == "before" else "After"
    return diagnosis_start(
        title=f"{label} {window.ref}: {window.title}",
        purpose=Purpose.HEALTH_CHECK,
        planned=plan_health_check(services),
        trigger=f"maintenance {window.ref} {phase} snapshot",
        by=by,
    )


@dataclass(frozen=True)
class SnapshotRow:
    probe: str
    target: str
    before: str  # a probe status, or "" when the probe did not run in that snapshot
    after: str
    before_summary: str = ""
    after_summary: str = ""

    @property
    def worse(self) -> bool:
        if not self.after:
            return False
        return Status.RANK.get(self.after, 0) > Status.RANK.get(self.before or Status.OK, 0)

    @property
    def better(self) -> bool:
        if not self.before or not self.after:
            return False
        return Status.RANK.get(self.after, 0) < Status.RANK.get(self.before, 0)

    def as_dict(self) -> dict:
        return {**asdict(self), "worse": self.worse}


@dataclass(frozen=True)
class Comparison:
    rows: list[SnapshotRow] = field(default_factory=list)
    # False while either snapshot is still running (nothing to compare yet).
    finished: bool = True

    @property
    def worse(self) -> list[SnapshotRow]:
        return [row for row in self.rows if row.worse]

    @property
    def summary(self) -> str:
        worse = self.worse
        if not worse:
            return "no check is worse after the maintenance"
        return "; ".join(
            f"{r.probe} on {r.target}: {r.before or 'none'} → {r.after}" for r in worse
        )


def _runs_by_key(diagnosis: Diagnosis | None) -> dict:
    if diagnosis is None:
        return {}
    return {
        (run.probe, run.target_id or run.target_label): run
        for run in diagnosis.runs.order_by("position", "id")
    }


def compare(before: Diagnosis | None, after: Diagnosis | None) -> Comparison:
    """Pair the two snapshots' runs; a probe that is worse after than before is a regression."""
    if after is None:
        return Comparison(finished=before is None or before.finished)
    finished = after.finished and (before is None or before.finished)
    before_runs, after_runs = _runs_by_key(before), _runs_by_key(after)
    rows = []
    for key in [*before_runs, *(k for k in after_runs if k not in before_runs)]:
        old, new = before_runs.get(key), after_runs.get(key)
        sample = new or old
        rows.append(
            SnapshotRow(
                probe=sample.probe,
                target=sample.target_label,
                before=old.status if old else "",
                after=new.status if new else "",
                before_summary=old.summary if old else "",
                after_summary=new.summary if new else "",
            )
        )
    return Comparison(rows=rows, finished=finished)


def snapshot_comparison(window) -> Comparison:
    return compare(window.before_snapshot, window.after_snapshot)
