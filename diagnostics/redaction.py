"""Make probe output safe and small enough to store: secrets redacted, sizes bounded.

Applied by the runner to every result and error text before anything is stored, whatever the
probe did: a DSN in an exception message, a token in a log line or a password in a query text
must never reach the database, the timeline or a page.
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "***"

_PATTERNS: tuple[tuple[re.Pattern, str], ...] = (
    # scheme://user:password@host → scheme://user:***@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@"), rf"\g<1>{REDACTED}@"),
    # password=..., pwd: ..., secret="...", token=..., api_key=..., PGPASSWORD=...
    (
        re.compile(
            r"(?i)\b([a-z_]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key)"
            r"[a-z_]*[\"']?\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&'\"]+)"
        ),
        rf"\g<1>{REDACTED}",
    ),
    # Authorization: Bearer xyz / Basic xyz
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), rf"\g<1> {REDACTED}"),
    # Our own tokens (API and integration), and common vendor token shapes.
    (re.compile(r"\b(opi|opt)_[0-9a-f]{16,}\b"), REDACTED),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"), REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{5,}"), REDACTED),
)

MAX_TEXT = 2000  # characters of any one string value
MAX_ROWS = 200  # rows of any one findings table
MAX_RAW_CHARS = 64 * 1024  # characters of the whole raw output once serialized
MAX_DEPTH = 8


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def clip(text: str, limit: int = MAX_TEXT) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def clean(value: Any, depth: int = 0) -> Any:
    """Redact and bound every string in a JSON-able structure; stringify anything else."""
    if depth > MAX_DEPTH:
        return "…"
    if isinstance(value, str):
        return clip(redact(value))
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {clip(str(k), 200): clean(v, depth + 1) for k, v in list(value.items())[:500]}
    if isinstance(value, list | tuple):
        return [clean(v, depth + 1) for v in list(value)[:500]]
    return clip(redact(str(value)))
