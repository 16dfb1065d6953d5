"""Byte counts and durations as short text for probe summaries and threshold descriptions.

Shared by the probes so that "1.5 GiB" or "3.2 h" reads the same whichever probe wrote it.
"""

from __future__ import annotations


def human_bytes(value: float) -> str:
    """Binary units (KiB, MiB, …): what the servers themselves report memory and WAL in."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def human_duration(seconds: float) -> str:
    """Seconds up to 2 min, minutes up to 2 h, hours up to 2 days, then days."""
    for limit, size, unit in ((120, 1, "s"), (7200, 60, "min"), (172_800, 3600, "h")):
        if seconds < limit:
            return f"{seconds / size:.0f} {unit}" if unit != "h" else f"{seconds / size:.1f} h"
    return f"{seconds / 86_400:.1f} d"
