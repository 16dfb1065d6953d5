"""HTTP probe: is the endpoint up, fast and healthy by its own account, and is its TLS current?

`http.health` makes one request to the target's URL through `ops_portal.outbound` (the SSRF
guard: resolved once, pinned address, no redirects followed, time budget and body cap) and
reports the status code, latency, size and content type. When the body is a health document —
our own `/health` (`{"status", "timestamp", "checks": {name: {"status", ...}}}`), Spring Boot's
`{"status": "UP", "components": {...}}`, MicroProfile's `{"status", "checks": [...]}` or the
IETF health+json draft (`"checks": {name: [{"status": "pass"}]}`) — its checks become a table
and a failing one makes the result warning or critical. On https it reports the days until
the server certificate expires, read from the connection itself (verification on or off).

Could not connect (refused, DNS, TLS, timeout) → ProbeUnreachable, i.e. status error: we could
not look. Connected but wrong status or a failing check → critical: something is known broken.
"""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
from django.utils import timezone
from rest_framework import serializers

from ops_portal.outbound import FetchResult, OutboundRefused, OutboundUnreachable, fetch

from . import registry
from .base import Check, Probe, ProbeConfigError, ProbeResult, ProbeUnreachable, Status, Table

MAX_BODY_BYTES = 256 * 1024  # enough for any health document; the rest is not read
MAX_CHECK_ROWS = 100
MAX_DETAIL_CHARS = 200
MAX_COMPONENT_DEPTH = 3  # Spring nests composite components; deeper is noise

OK_WORDS = {"ok", "up", "pass", "passed", "passing", "healthy", "green", "success", "available"}
WARNING_WORDS = {"warn", "warning", "degraded", "yellow", "unknown"}
CRITICAL_WORDS = {
    "down",
    "fail",
    "failed",
    "failing",
    "unhealthy",
    "critical",
    "error",
    "red",
    "out_of_service",
    "unavailable",
}
DETAIL_TEXT_KEYS = ("error", "reason", "message", "output")
REPORTED_STATUS_RULE = "ok/up/pass is ok; down/fail is critical; anything else is warning"


class HttpHealthParams(serializers.Serializer):
    latency_warning_ms = serializers.IntegerField(
        min_value=1,
        max_value=600_000,
        default=1000,
        help_text="Warning when the whole request (DNS, connect, TLS, body) takes this long.",
    )
    latency_critical_ms = serializers.IntegerField(
        min_value=1,
        max_value=600_000,
        default=5000,
        help_text="Critical when the whole request takes this long.",
    )
    tls_expiry_warning_days = serializers.IntegerField(
        min_value=0,
        max_value=365,
        default=21,
        help_text="Warning when the certificate expires in fewer days than this (https only).",
    )
    tls_expiry_critical_days = serializers.IntegerField(
        min_value=0,
        max_value=365,
        default=7,
        help_text="Critical when the certificate expires in fewer days than this (https only).",
    )

    def validate(self, attrs):
        if attrs["latency_critical_ms"] < attrs["latency_warning_ms"]:
            raise serializers.ValidationError(
                {"latency_critical_ms": ["Must be at least latency_warning_ms."]}
            )
        if attrs["tls_expiry_critical_days"] > attrs["tls_expiry_warning_days"]:
            raise serializers.ValidationError(
                {"tls_expiry_critical_days": ["Must be at most tls_expiry_warning_days."]}
            )
        return attrs


@registry.register
class HttpHealthProbe(Probe):
    name = "http.health"
    kind = "http"
    title = "HTTP health"
    description = (
        "Requests the URL once (no redirects followed) and checks the status code, latency, "
        "an expected text, the checks a JSON health document reports and TLS expiry."
    )
    params_class = HttpHealthParams
    default_timeout_s = 10.0
    health = True

    def run(self, target, params: dict, timeout_s: float) -> ProbeResult:
        config = target.config
        # The target's own timeout, but never past the runner's: our error text is better.
        budget_s = min(float(config.get("timeout_s", timeout_s)), timeout_s)
        response = request_target(config, budget_s)
        return assess(response, config, params)


def request_target(config: dict, timeout_s: float) -> FetchResult:
    try:
        return fetch(
            config["url"],
            method=config.get("method", "GET"),
            timeout_s=timeout_s,
            verify=config.get("verify_tls", True),
            max_bytes=MAX_BODY_BYTES,
        )
    except OutboundRefused as exc:
        raise ProbeConfigError(str(exc)) from exc
    except OutboundUnreachable as exc:
        raise ProbeUnreachable(str(exc)) from exc


def assess(response: FetchResult, config: dict, params: dict) -> ProbeResult:
    """Turn one response into checks, the reported-checks table and a summary."""
    expected = config.get("expected_status", 200)
    latency_ms = round(response.elapsed_ms, 1)
    warnings: list[str] = []
    checks = [
        status_code_check(response.status_code, expected),
        Check(
            name="latency_ms",
            label="Latency (whole request)",
            value=latency_ms,
            status=_ascending(
                latency_ms, params["latency_warning_ms"], params["latency_critical_ms"]
            ),
            threshold=(
                f"warning ≥ {params['latency_warning_ms']} ms, "
                f"critical ≥ {params['latency_critical_ms']} ms"
            ),
            unit="ms",
        ),
        Check(
            name="response_bytes",
            label="Response size" + (" (cut at the read limit)" if response.truncated else ""),
            value=len(response.body),
            unit="bytes",
        ),
        Check(name="content_type", label="Content type", value=response.content_type or None),
    ]
    summary = [_status_phrase(response, expected, latency_ms)]

    body_check = body_contains_check(response, config, warnings)
    if body_check is not None:
        checks.append(body_check)
        if body_check.status != Status.OK:
            summary.append(f"body does not contain {config['body_contains']!r}")

    document = health_document(response, warnings)
    reported_status, rows = parse_health_document(document) if document is not None else (None, [])
    tables = []
    if reported_status is not None:
        checks.append(
            Check(
                name="reported_status",
                label="Status the endpoint reports",
                value=reported_status,
                status=normalized_status(reported_status),
                threshold=REPORTED_STATUS_RULE,
            )
        )
    if rows:
        failing = [row for row in rows if row[1] != Status.OK]
        checks.append(
            Check(
                name="failing_checks",
                label="Reported checks not ok",
                value=len(failing),
                status=Status.worst(row[1] for row in rows),
                threshold="any reported check not ok",
            )
        )
        tables.append(checks_table(rows))
        summary.append(_checks_phrase(rows, failing))

    tls_days = None
    if response.tls is not None and response.tls.not_after is not None:
        tls_days = days_until(response.tls.not_after)
        checks.append(tls_expiry_check(tls_days, params))
        summary.append(_tls_phrase(tls_days))

    return ProbeResult.from_checks(
        "; ".join(summary),
        checks,
        tables=tables,
        warnings=warnings,
        raw=raw_output(response, latency_ms, reported_status, tls_days),
    )


# --- checks --------------------------------------------------------------------------------


def status_code_check(code: int, expected: int) -> Check:
    return Check(
        name="status_code",
        label="HTTP status code",
        value=code,
        status=Status.OK if code == expected else Status.CRITICAL,
        threshold=f"expected {expected}",
    )


def body_contains_check(response: FetchResult, config: dict, warnings: list[str]) -> Check | None:
    text = config.get("body_contains")
    if not text:
        return None
    if config.get("method") == "HEAD":
        warnings.append("body_contains is ignored with method HEAD: the response has no body")
        return None
    found = text in response.text()
    if not found and response.truncated:
        warnings.append(f"body_contains searched only the first {MAX_BODY_BYTES // 1024} KiB")
    return Check(
        name="body_contains",
        label="Body contains the expected text",
        value="found" if found else "missing",
        status=Status.OK if found else Status.CRITICAL,
        threshold=f"must contain {text!r}",
    )


def tls_expiry_check(days_left: int, params: dict) -> Check:
    warning, critical = params["tls_expiry_warning_days"], params["tls_expiry_critical_days"]
    if days_left < critical:
        status = Status.CRITICAL
    elif days_left < warning:
        status = Status.WARNING
    else:
        status = Status.OK
    return Check(
        name="tls_days_left",
        label="Days until the TLS certificate expires",
        value=days_left,
        status=status,
        threshold=f"warning < {warning} days, critical < {critical} days",
        unit="days",
    )


def days_until(moment) -> int:
    """Whole days from now until `moment`, rounded down (negative once it has passed)."""
    return math.floor((moment - timezone.now()).total_seconds() / 86400)


def _ascending(value: float, warning: float, critical: float) -> str:
    if value >= critical:
        return Status.CRITICAL
    if value >= warning:
        return Status.WARNING
    return Status.OK


# --- health documents --------------------------------------------------------------------


def health_document(response: FetchResult, warnings: list[str]) -> dict | None:
    """The JSON object in the body, when it is one; None otherwise."""
    if not response.body:
        return None
    looks_json = "json" in response.content_type.lower() or response.body.lstrip()[:1] == b"{"
    if not looks_json:
        return None
    if response.truncated:
        warnings.append("the body is larger than the read limit; its checks were not parsed")
        return None
    try:
        document = json.loads(response.text())
    except ValueError:
        if "json" in response.content_type.lower():
            warnings.append("the body is labelled JSON but does not parse")
        return None
    return document if isinstance(document, dict) else None


def parse_health_document(document: dict) -> tuple[str | None, list[list[Any]]]:
    """(overall status as reported, rows of [check, status, reported, detail])."""
    reported = document.get("status")
    overall = _reported_text(reported) if reported is not None else None
    if "checks" in document:
        entries = _check_entries(document["checks"])
    elif isinstance(document.get("components"), dict):
        entries = _component_entries(document["components"], prefix="", depth=1)
    else:
        entries = []
    rows = [
        [name, normalized_status(status), _reported_text(status), _clip(detail)]
        for name, status, detail in entries
    ]
    return overall, rows


def _check_entries(checks: Any) -> list[tuple[str, Any, str]]:
    """(name, status, detail) from `checks` as a dict (ours, IETF) or a list (MicroProfile)."""
    entries: list[tuple[str, Any, str]] = []
    if isinstance(checks, dict):
        for name, value in checks.items():
            if isinstance(value, list):  # IETF health+json: name → [{componentId, status, ...}]
                for index, item in enumerate(value):
                    item = item if isinstance(item, dict) else {"status": item}
                    label = name if len(value) == 1 else f"{name}[{item.get('componentId', index)}]"
                    entries.append((str(label), item.get("status"), detail_text(item)))
            elif isinstance(value, dict):
                entries.append((str(name), value.get("status"), detail_text(value)))
            else:  # {"database": "ok"}
                entries.append((str(name), value, ""))
    elif isinstance(checks, list):
        for index, item in enumerate(checks):
            if isinstance(item, dict):
                name = item.get("name") or f"#{index + 1}"
                entries.append((str(name), item.get("status"), detail_text(item, skip=("name",))))
    return entries


def _component_entries(components: dict, *, prefix: str, depth: int) -> list[tuple[str, Any, str]]:
    """Spring Boot actuator components, nested composites named `parent.child`."""
    entries: list[tuple[str, Any, str]] = []
    for name, value in components.items():
        if not isinstance(value, dict):
            continue
        full_name = f"{prefix}{name}"
        entries.append((full_name, value.get("status"), detail_text(value, skip=("components",))))
        nested = value.get("components")
        if isinstance(nested, dict) and depth < MAX_COMPONENT_DEPTH:
            entries.extend(_component_entries(nested, prefix=f"{full_name}.", depth=depth + 1))
    return entries


def normalized_status(reported: Any) -> str:
    """ok, warning or critical for a status word as endpoints spell it; unknown words warn."""
    if isinstance(reported, bool):
        return Status.OK if reported else Status.CRITICAL
    word = str(reported).strip().lower().replace(" ", "_").replace("-", "_")
    if word in OK_WORDS:
        return Status.OK
    if word in CRITICAL_WORDS:
        return Status.CRITICAL
    return Status.WARNING  # WARNING_WORDS, a missing status and words we do not know


def detail_text(item: dict, *, skip: tuple[str, ...] = ()) -> str:
    """A short line of what an entry says besides its status: error text first, then values."""
    ignored = {"status", *skip}
    parts = [
        str(item[key])
        for key in DETAIL_TEXT_KEYS
        if key not in ignored and item.get(key) not in (None, "")
    ]
    for key, value in item.items():
        if key in ignored or key in DETAIL_TEXT_KEYS:
            continue
        if isinstance(value, dict):  # Spring "details", MicroProfile "data": one level down
            parts.extend(f"{k}={v}" for k, v in value.items() if not isinstance(v, dict | list))
        elif not isinstance(value, list):
            parts.append(f"{key}={value}")
    return ", ".join(parts)


def checks_table(rows: list[list[Any]]) -> Table:
    table = Table(
        name="health_checks",
        title="Checks the endpoint reports",
        columns=["check", "status", "reported", "detail"],
        rows=rows[:MAX_CHECK_ROWS],
        key=("check",),
    )
    if len(rows) > MAX_CHECK_ROWS:
        table.total_rows = len(rows)
    return table


def _reported_text(value: Any) -> str:
    return "missing" if value is None else _clip(str(value), 50)


def _clip(text: str, limit: int = MAX_DETAIL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- summary and raw output ---------------------------------------------------------------


def _status_phrase(response: FetchResult, expected: int, latency_ms: float) -> str:
    phrase = f"HTTP {response.status_code}"
    if response.status_code != expected:
        phrase += f" (expected {expected})"
    phrase += f" in {latency_ms:.0f} ms"
    location = response.redirect_location
    if location is not None and response.status_code != expected:
        phrase += f"; redirect to {location_for_display(location)} not followed"
    return phrase


def _checks_phrase(rows: list[list[Any]], failing: list[list[Any]]) -> str:
    if not failing:
        return f"all {len(rows)} reported checks ok"
    named = ", ".join(f"{row[0]} ({row[2]})" for row in failing[:5])
    more = f" and {len(failing) - 5} more" if len(failing) > 5 else ""
    return f"failing checks: {named}{more}"


def _tls_phrase(days_left: int) -> str:
    if days_left < 0:
        return f"TLS certificate expired {-days_left} days ago"
    return f"TLS certificate expires in {days_left} days"


def location_for_display(location: str) -> str:
    """A redirect target without its query and fragment, which may carry a token."""
    try:
        return str(httpx.URL(location).copy_with(query=None, fragment=None))
    except (httpx.InvalidURL, TypeError):
        return "(an invalid Location)"


def raw_output(
    response: FetchResult, latency_ms: float, reported_status: str | None, tls_days: int | None
) -> dict:
    raw: dict[str, Any] = {
        "host": response.target.display,
        "address": response.target.address,
        "status_code": response.status_code,
        "reason": response.reason,
        "http_version": response.http_version,
        "latency_ms": latency_ms,
        "response_bytes": len(response.body),
        "truncated": response.truncated,
        "content_type": response.content_type,
    }
    if response.redirect_location is not None:
        raw["redirect_location"] = location_for_display(response.redirect_location)
    if reported_status is not None:
        raw["reported_status"] = reported_status
    if response.tls is not None:
        raw["tls"] = {
            "version": response.tls.version,
            "cipher": response.tls.cipher,
            "not_after": response.tls.not_after.isoformat() if response.tls.not_after else None,
            "days_left": tls_days,
        }
    return raw
