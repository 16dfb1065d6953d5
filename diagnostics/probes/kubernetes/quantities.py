"""Kubernetes resource quantities ("100m", "250Mi", "5n", "1e3") as numbers.

metrics-server reports CPU in nano- or millicores and memory in Ki or Mi; pod specs use
whatever the author wrote. Usage is only comparable with limits once both are parsed the way the
API server parses them, including its quirk that "1E" is exa but "1e3" an exponent.
"""

from __future__ import annotations

import re
from decimal import Decimal

QUANTITY = re.compile(
    r"^(?P<number>[+-]?(?:\d+\.?\d*|\.\d+))"
    r"(?:[eE](?P<exponent>[+-]?\d{1,3})|(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?$"
)
BINARY = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
DECIMAL = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
FACTORS = {
    None: Decimal(1),
    **{suffix: Decimal(1024) ** power for power, suffix in enumerate(BINARY, 1)},
    **{suffix: Decimal(10) ** exponent for suffix, exponent in DECIMAL.items()},
}


def parse_quantity(text: str | int | float) -> Decimal:
    """The quantity's value in base units (cores, bytes); ValueError when it is not one."""
    text = str(text).strip()
    match = QUANTITY.match(text) if len(text) <= 64 else None
    if match is None:
        raise ValueError(f"not a Kubernetes quantity: {text[:64]!r}")
    value = Decimal(match["number"])
    if match["exponent"] is not None:
        return value.scaleb(int(match["exponent"]))
    return value * FACTORS[match["suffix"]]


def millicores(quantity: str | None) -> float | None:
    return None if quantity is None else round(float(parse_quantity(quantity) * 1000), 1)


def mebibytes(quantity: str | None) -> float | None:
    return None if quantity is None else round(float(parse_quantity(quantity) / 2**20), 1)
