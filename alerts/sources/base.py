"""The contract every alert source implements: a payload in, normalized alerts out.

A source is a module with `KIND` and `parse(payload, *, body_digest) -> list[NormalizedAlert]`
that raises `InvalidPayload` with one message per problem. The ingestion view calls it to reject
bad input before answering 202; the worker calls it again on the stored body to fold the alerts.
Parsing is hand-written rather than a DRF serializer: it sits on the hot accept path.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

# JSON escapes that decode to text PostgreSQL cannot store: NUL, and UTF-16 surrogates (a lone
# one cannot even be encoded as UTF-8). Only bodies containing them pay for a cleaning pass.
_UNSTORABLE_ESCAPE = re.compile(rb"\\u(0000|[dD][89a-fA-F])")


def _storable(value):
    if isinstance(value, str):
        return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_storable(item) for item in value]
    return value


def load_json(body: bytes) -> object:
    """Decode a delivery; text the database cannot store is cleaned here, in the request, so
    it can never poison the worker's batch later. Raises ValueError/RecursionError.

    UTF-8 only (RFC 8259): json.loads would also guess UTF-16/32 from bytes, and such a body
    could not be stored as the text it must be kept as."""
    payload = json.loads(body.decode("utf-8"))
    if _UNSTORABLE_ESCAPE.search(body):
        payload = _storable(payload)
    return payload


class InvalidPayload(Exception):
    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("; ".join(errors))


@dataclass(frozen=True)
class NormalizedAlert:
    dedup_key: str
    action: str  # trigger | acknowledge | resolve (AlertAction)
    summary: str
    # The source's identity of this one event; a repeat with the same key is not stored again.
    event_key: str | None = None
    source: str = ""
    severity: str = ""  # the source's own word: critical/error/warning/info, or P0..P3
    labels: dict = field(default_factory=dict)
    annotations: dict = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    generator_url: str = ""
    links: list = field(default_factory=list)
    payload: dict = field(default_factory=dict)


MAX_SUMMARY = 1024
MAX_DEDUP_KEY = 255

# RFC 3339 with any number of fractional digits (Alertmanager sends nanoseconds).
_RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|z|[+-]\d{2}:?\d{2})?$"
)
# Alertmanager's "no end" value for firing alerts.
ZERO_TIME = "0001-01-01T00:00:00Z"


def parse_time(value: object, where: str, errors: list[str], *, required: bool = False):
    """An RFC 3339 timestamp as an aware datetime; None (and an error if required) otherwise."""
    if value is None or value == "":
        if required:
            errors.append(f"{where}: required")
        return None
    if not isinstance(value, str):
        errors.append(f"{where}: must be an RFC 3339 timestamp string")
        return None
    if value.startswith("0001-01-01"):
        return None
    match = _RFC3339.match(value)
    if not match:
        errors.append(f"{where}: {value[:40]!r} is not an RFC 3339 timestamp")
        return None
    date, clock, fraction, offset = match.groups()
    micro = (fraction or "0")[:6].ljust(6, "0")
    offset = "+00:00" if offset in (None, "Z", "z") else offset
    if len(offset) == 5:
        offset = offset[:3] + ":" + offset[3:]
    try:
        return datetime.fromisoformat(f"{date}T{clock}.{micro}{offset}").astimezone(UTC)
    except (ValueError, OverflowError):  # Feb 30, or year 9999 pushed past the end by its offset
        errors.append(f"{where}: {value[:40]!r} is not a valid date")
        return None


def string_map(value: object, where: str, errors: list[str], *, required: bool = False) -> dict:
    """A {str: str} object (labels, annotations); other values are errors."""
    if value is None:
        if required:
            errors.append(f"{where}: required")
        return {}
    if not isinstance(value, dict):
        errors.append(f"{where}: must be an object of strings")
        return {}
    bad = [key for key, item in value.items() if not isinstance(item, str)]
    if bad:
        errors.append(f"{where}: values must be strings (not {', '.join(sorted(bad)[:5])})")
        return {}
    return value


def optional_str(value: object, where: str, errors: list[str], *, max_length: int = 2048) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.append(f"{where}: must be a string")
        return ""
    if len(value) > max_length:
        errors.append(f"{where}: longer than {max_length} characters")
        return ""
    return value


def summary_of(labels: dict, annotations: dict) -> str:
    text = (
        annotations.get("summary")
        or annotations.get("title")
        or annotations.get("description")
        or labels.get("alertname")
        or "Alert"
    )
    return text[:MAX_SUMMARY]
