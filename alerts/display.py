"""Showing untrusted alert data on our pages: links, JSON bodies.

Everything in an alert comes from outside (labels, annotations, links, bodies), so pages escape
it all (Django's autoescape) and only ever turn http(s) URLs into links: `javascript:`, `data:`
and friends are shown as text at most, never as an href.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit, urlunsplit

SAFE_SCHEMES = ("http", "https")
# A delivery body can be 512 KiB; the page shows a readable head of it, not all of it.
MAX_SHOWN_CHARS = 64 * 1024


def safe_url(value: object) -> str | None:
    """The URL normalised, if it is an absolute http(s) URL; None for anything else."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        # urlsplit drops the whitespace and control characters browsers ignore too, so
        # "java\tscript:" is seen as the javascript: URL it is.
        parts = urlsplit(value.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in SAFE_SCHEMES or not parts.netloc:
        return None
    return urlunsplit(parts)


def safe_links(links: object, *, limit: int = 50) -> list[dict]:
    """`[{href, text}]` with only http(s) hrefs; other entries keep their text, lose the link."""
    shown = []
    if not isinstance(links, list):
        return shown
    for link in links[:limit]:
        if not isinstance(link, dict):
            continue
        href = safe_url(link.get("href"))
        text = link.get("text") or link.get("href") or ""
        shown.append({"href": href, "text": str(text)[:300]})
    return shown


def _truncated(text: str) -> tuple[str, bool]:
    if len(text) <= MAX_SHOWN_CHARS:
        return text, False
    return text[:MAX_SHOWN_CHARS], True


def pretty_json(value: object) -> tuple[str, bool]:
    """Indented JSON text of a stored value, and whether it was cut short."""
    try:
        text = json.dumps(value, indent=2, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        # The indenting encoder is pure Python and recurses per level: a deeply nested (but
        # accepted) body can exhaust the stack. Show it compact instead.
        text = json.dumps(value, ensure_ascii=False, default=str)
    return _truncated(text)


def pretty_body(body: str) -> tuple[str, bool]:
    """A raw delivery body as indented JSON when it parses (it did when accepted), else as is."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return _truncated(body)
    return pretty_json(value)
