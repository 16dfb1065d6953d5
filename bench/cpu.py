"""Who used the CPUs during a measurement: this benchmark's processes, PostgreSQL, Redis, or
something else (a test run, a browser) that makes the figures rough. Linux /proc only."""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _processes() -> dict[int, tuple[int, str, int]]:
    """pid -> (parent pid, command name, CPU ticks used so far)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                text = stat.read()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        found[int(entry)] = (int(fields[1]), name, int(fields[11]) + int(fields[12]))
    return found


def _category(pid: int, processes: dict, ours: set[int]) -> str:
    seen = 0
    current = pid
    while current > 1 and seen < 64:
        if current in ours:
            return "benchmark"
        current = processes.get(current, (0, "", 0))[0]
        seen += 1
    name = processes[pid][1]
    if name.startswith("postgres"):
        return "postgres"
    if name.startswith("redis"):
        return "redis"
    if name.startswith("kworker"):
        return "other:kernel workers"  # their names change with the work they do
    return "other:" + name


def snapshot(roots: set[int]) -> tuple[float, dict[int, tuple[str, int]]]:
    """When, and per process its category and CPU ticks so far."""
    processes = _processes()
    ours = roots | {os.getpid()}
    return time.monotonic(), {
        pid: (_category(pid, processes, ours), used) for pid, (_, _, used) in processes.items()
    }


@dataclass(frozen=True)
class Usage:
    seconds: float
    cpus: dict[str, float]  # category -> CPUs used on average (1.0 = one CPU busy)

    @property
    def others(self) -> float:
        return sum(value for name, value in self.cpus.items() if name.startswith("other:"))

    def busiest_others(self, count: int = 3) -> str:
        others = sorted(
            (
                (value, name.removeprefix("other:"))
                for name, value in self.cpus.items()
                if name.startswith("other:")
            ),
            reverse=True,
        )
        return ", ".join(f"{name} {value:.2f}" for value, name in others[:count] if value >= 0.05)


def usage(before, after) -> Usage:
    """CPUs used per category between two snapshots, process by process: one that started in
    between counts whole, one that ended in between is missed (its last ticks are unknown)."""
    seconds = max(after[0] - before[0], 1e-6)
    ticks: Counter = Counter()
    for pid, (name, used) in after[1].items():
        earlier = before[1].get(pid)
        ticks[name] += used - (earlier[1] if earlier and earlier[0] == name else 0)
    cpus = {name: round(used / _TICK / seconds, 3) for name, used in ticks.items() if used > 0}
    return Usage(seconds=seconds, cpus=cpus)
