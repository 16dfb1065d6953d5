"""Run one probe with a hard timeout and turn whatever happens into a storable result.

The probe runs in a daemon thread; the caller waits at most `timeout_s` (+ a small grace for
the probe's own client timeouts to fire first and report something more precise). A probe that
is still running then is abandoned and reported as `error: timed out after Ns` — its client
calls carry timeouts too, so the thread ends shortly after. This is what keeps one hanging
target (a port that accepts TCP and never answers) from holding a worker slot or a probe set.

Every result goes through `redaction.clean` before it leaves this module.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field

from . import redaction
from .probes import registry
from .probes.base import Probe, ProbeResult, ProbeUnreachable, Status

logger = logging.getLogger(__name__)

# Seconds a probe may overrun its timeout before being cut: long enough for a client timeout
# set to exactly `timeout_s` to raise (and give a better message), short enough not to matter.
GRACE_S = 0.5


@dataclass
class Outcome:
    """What the runner stores: the cleaned result dict, its status/summary and the duration."""

    status: str
    summary: str
    result: dict
    error: str
    duration_ms: int
    timed_out: bool = False
    extra: dict = field(default_factory=dict)


def run_probe(probe: Probe | str, target, params: dict, timeout_s: float) -> Outcome:
    if isinstance(probe, str):
        probe = registry.get(probe)
    started = time.monotonic()
    box: dict = {}

    def work() -> None:
        try:
            box["result"] = probe.run(target, params, timeout_s)
        except BaseException as exc:  # reported as the result; nothing escapes the thread
            box["exc"] = exc

    thread = threading.Thread(target=work, name=f"probe:{probe.name}", daemon=True)
    thread.start()
    thread.join(timeout_s + GRACE_S)
    duration_ms = int((time.monotonic() - started) * 1000)

    if thread.is_alive():
        return error_outcome(f"timed out after {_seconds(timeout_s)}s", duration_ms, timed_out=True)
    if "exc" in box:
        return _from_exception(probe, box["exc"], duration_ms)
    result = box.get("result")
    if not isinstance(result, ProbeResult) or result.status not in Status.CHOICES:
        logger.error("probe %s returned %r instead of a ProbeResult", probe.name, result)
        return error_outcome("the probe returned no valid result (a bug in the probe)", duration_ms)
    data = result.as_dict()
    _bound_tables(data)  # before cleaning, which also cuts long lists (without saying so)
    cleaned = redaction.clean(data)
    _bound_raw(cleaned)
    return Outcome(
        status=result.status,
        summary=redaction.clip(cleaned["summary"] or result.status, 500),
        result=cleaned,
        error=cleaned.get("error", ""),
        duration_ms=duration_ms,
    )


def _from_exception(probe: Probe, exc: BaseException, duration_ms: int) -> Outcome:
    if isinstance(exc, ProbeUnreachable):
        message = str(exc) or "target unreachable"
    elif isinstance(exc, TimeoutError):
        message = f"timed out: {exc}" if str(exc) else "timed out"
    else:
        # An unexpected exception is still a result people must see, but it is also our bug.
        logger.warning("probe %s raised %r", probe.name, exc, exc_info=exc)
        message = f"{type(exc).__name__}: {exc}"
    return error_outcome(message, duration_ms)


def error_outcome(message: str, duration_ms: int = 0, *, timed_out: bool = False) -> Outcome:
    message = redaction.clip(redaction.redact(message), 1000)
    summary = redaction.clip(f"error: {message}", 500)
    result = ProbeResult(status=Status.ERROR, summary=summary, error=message).as_dict()
    return Outcome(
        status=Status.ERROR,
        summary=summary,
        result=result,
        error=message,
        duration_ms=duration_ms,
        timed_out=timed_out,
    )


def _bound_tables(result: dict) -> None:
    for table in result.get("tables", []):
        rows = table.get("rows") or []
        if len(rows) > redaction.MAX_ROWS:
            table["total_rows"] = table.get("total_rows") or len(rows)
            table["rows"] = rows[: redaction.MAX_ROWS]


def _bound_raw(result: dict) -> None:
    raw = result.get("raw")
    if raw is None:
        return
    text = json.dumps(raw, default=str)
    if len(text) > redaction.MAX_RAW_CHARS:
        result["raw"] = {"truncated": True, "text": text[: redaction.MAX_RAW_CHARS]}


def _seconds(value: float) -> str:
    return f"{value:g}"
