"""Percentiles by the nearest-rank rule, and the count/median/p90 summary every figure uses.

Nearest rank: the p-th percentile of n sorted values is the value at rank ceil(p/100 · n)
(1-based). The median is p50 by the same rule, so for an even count it is the lower of the two
middle values, never their average: every figure shown is a duration that really happened, and
median and p90 follow one rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


def percentile(values: Iterable[float], p: int) -> float | None:
    """The nearest-rank p-th percentile (integer 0 < p ≤ 100) of `values`; None when empty."""
    if not 0 < p <= 100:
        raise ValueError("p is a percentage in (0, 100]")
    ordered = sorted(values)
    if not ordered:
        return None
    rank = -(-p * len(ordered) // 100)  # ceil(p·n/100) in integers: no float rounding
    return ordered[rank - 1]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


@dataclass(frozen=True)
class Spread:
    """How many durations, and their median and 90th percentile in minutes (0.1 precision)."""

    count: int
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, minutes: Iterable[float]) -> Spread:
        values = list(minutes)
        return cls(len(values), _rounded(percentile(values, 50)), _rounded(percentile(values, 90)))


EMPTY = Spread(0, None, None)
