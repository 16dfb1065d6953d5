"""The incident's key durations as the postmortem states them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


def _minutes(start, end) -> float | None:
    if start is None or end is None or end < start:
        return None
    return round((end - start) / timedelta(minutes=1), 1)


@dataclass(frozen=True)
class KeyMetrics:
    """Minutes; None where a timestamp is missing. Detection counts from the impact start (the
    earliest alert, or what the author entered); the rest count from detection."""

    time_to_detect: float | None
    time_to_acknowledge: float | None
    time_to_mitigate: float | None
    time_to_resolve: float | None
    impact_duration: float | None

    def as_dict(self) -> dict:
        return {
            "time_to_detect": self.time_to_detect,
            "time_to_acknowledge": self.time_to_acknowledge,
            "time_to_mitigate": self.time_to_mitigate,
            "time_to_resolve": self.time_to_resolve,
            "impact_duration": self.impact_duration,
        }


def key_metrics(postmortem) -> KeyMetrics:
    incident = postmortem.incident
    start = postmortem.impact_started_at or incident.detected_at
    return KeyMetrics(
        time_to_detect=_minutes(postmortem.impact_started_at, incident.detected_at),
        time_to_acknowledge=_minutes(incident.detected_at, incident.acknowledged_at),
        time_to_mitigate=_minutes(incident.detected_at, incident.mitigated_at),
        time_to_resolve=_minutes(incident.detected_at, incident.resolved_at),
        impact_duration=_minutes(start, incident.resolved_at),
    )
