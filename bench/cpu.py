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
    return "other:" + name


def snapshot(roots: set[int]) -> tuple[float, Counter]:
    processes = _processes()
    ticks: Counter = Counter()
    for pid, (_, _, used) in processes.items():
        ticks[_category(pid, processes, roots | {os.getpid()})] += used
    return time.monotonic(), ticks


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


def usage(before: tuple[float, Counter], after: tuple[float, Counter]) -> Usage:
    seconds = max(after[0] - before[0], 1e-6)
    cpus = {}
    for name in set(before[1]) | set(after[1]):
        used = (after[1].get(name, 0) - before[1].get(name, 0)) / _TICK / seconds
        if used > 0:
            cpus[name] = round(used, 3)
    return Usage(seconds=seconds, cpus=cpus)
