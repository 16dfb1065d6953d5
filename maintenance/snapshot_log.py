"""Log on the window when one of its health snapshots finishes (diagnostics completion hook)."""

from __future__ import annotations

from django.db.models import Q

from .log import window_event_append
from .models import MaintenanceWindow, WindowEventKind
from .snapshots import compare


def log_finished_snapshot(diagnosis) -> None:
    """Called inside the transaction that finished `diagnosis` (any diagnosis: most are not
    snapshots, so this is one indexed lookup that usually finds nothing)."""
    if diagnosis.incident_id is not None:
        return
    window = (
        MaintenanceWindow.objects.filter(Q(before_snapshot=diagnosis) | Q(after_snapshot=diagnosis))
        .select_related("before_snapshot", "after_snapshot")
        .first()
    )
    if window is None:
        return
    phase = "before" if window.before_snapshot_id == diagnosis.pk else "after"
    data = {"phase": phase, "diagnosis_id": diagnosis.pk, "status": diagnosis.status}
    body = f"{phase.capitalize()} snapshot finished: {diagnosis.summary}"
    if phase == "after":
        comparison = compare(window.before_snapshot, diagnosis)
        data["worse"] = [row.as_dict() for row in comparison.worse]
        body += f" — {comparison.summary}."
    window_event_append(window_id=window.pk, kind=WindowEventKind.SNAPSHOT, body=body, data=data)
