"""Turn measurements into the printed table and results/latest.json."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

from bench.load import LoadResult, Target

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass
class Row:
    """One measured (or failed) endpoint."""

    server: str  # "baseline" or "portal"
    label: str  # e.g. "GET /api/v1/services/"
    auth: str  # "none", "token" or "session"
    result: LoadResult | None = None
    target: Target | None = None
    failure: str = ""
    response_bytes: int = 0  # body size of one answer, read before the run

    def ratio(self, baseline: LoadResult) -> float | None:
        if self.result is None or not baseline.requests_per_second:
            return None
        return self.result.requests_per_second / baseline.requests_per_second

    def as_json(self, baseline: LoadResult) -> dict:
        ratio = self.ratio(baseline)
        data: dict = {
            "server": self.server,
            "endpoint": self.label,
            "auth": self.auth,
            "response_bytes": self.response_bytes,
        }
        if self.result is None:
            skipped = self.failure.startswith("skipped")
            data.update(status="skipped" if skipped else "failed", failure=self.failure)
            return data
        data.update(status="ok", **asdict(self.result))
        data["rps_ratio_to_baseline"] = round(ratio, 4) if ratio is not None else None
        data["p50_ratio_to_baseline"] = (
            round(self.result.p50_ms / baseline.p50_ms, 3) if baseline.p50_ms else None
        )
        return data


def table(rows: list[Row], baseline: LoadResult) -> str:
    header = (
        f"{'server':<9} {'endpoint':<24} {'auth':<8} {'req/s':>9} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'errors':>7} {'vs baseline':>12}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        prefix = f"{row.server:<9} {row.label:<24} {row.auth:<8}"
        if row.result is None:
            skipped = row.failure.startswith("skipped")
            lines.append(f"{prefix} {'' if skipped else 'FAILED: '}{row.failure}")
            continue
        result = row.result
        ratio = row.ratio(baseline)
        ratio_text = f"{ratio:.2f}x" if ratio is not None else "-"
        lines.append(
            f"{prefix} {result.requests_per_second:>9.1f} {result.p50_ms:>8.2f} "
            f"{result.p99_ms:>8.2f} {result.errors:>7d} {ratio_text:>12}"
        )
    return "\n".join(lines)


def write_json(payload: dict, path: Path | None = None, *, keep: tuple[str, ...] = ()) -> Path:
    """Write `payload`; the `keep` sections of the file already there survive (parts of the
    benchmark that share a file but were not run this time keep their last figures)."""
    path = path or RESULTS_DIR / "latest.json"
    kept = {key: value for key, value in read_json(path).items() if key in keep}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**kept, **payload}, indent=2) + "\n")
    return path


def merge_json(section: str, payload: dict, path: Path | None = None) -> Path:
    """Put `payload` under `section` of the results file, leaving the rest as it is."""
    path = path or RESULTS_DIR / "latest.json"
    return write_json({**read_json(path), section: payload}, path)


def read_json(path: Path) -> dict:
    """The results file as a dict; empty when missing or unreadable (a half-written file from
    an interrupted run must not stop the next one)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def machine() -> dict:
    """CPUs, load average and versions, for the header and the results file."""

    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "?"

    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "django": version("django"),
        "gunicorn": version("gunicorn"),
        "loadavg_at_start": [round(value, 2) for value in os.getloadavg()],
    }
