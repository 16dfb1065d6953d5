"""The ingestion endpoints: validate, authenticate, record durably, answer 202. Nothing more.

This is the hot path of an alert storm, so it avoids DRF and the ORM: one SELECT for the
integration, one rate-limit round trip to Redis, one INSERT … ON CONFLICT DO NOTHING for the
raw delivery, and a nudge handed to a background thread (`nudge.py`). On PostgreSQL a token this
process has already authenticated skips the SELECT: the INSERT checks the integration in the
same statement (see `_known`). The worker does the rest (`services.raw_event_process`).
Errors are machine-readable JSON with the right 4xx; PagerDuty's endpoint answers in
PagerDuty's own shapes so its clients understand us.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from . import metrics, ratelimit
from .models import Integration, RawEvent
from .nudge import nudge_worker
from .sources import InvalidPayload, load_json, source_for
from .sources.pagerduty import routing_key_of
from .tokens import token_digest

logger = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "HTTP_IDEMPOTENCY_KEY"
MAX_IDEMPOTENCY_KEY = 255
# Sources that resend whole notifications: an identical body is the same alerts in the same
# state, so the body digest is a natural delivery key.
RESENDING_SOURCES = {"alertmanager", "grafana"}

_SELECT_INTEGRATION = (
    f"SELECT id, kind, enabled, rate_limit_per_minute FROM {Integration._meta.db_table} "  # noqa: S608 (model table name)
    "WHERE token_digest = %s"
)
_INSERT_RAW = (
    f"INSERT INTO {RawEvent._meta.db_table} "  # noqa: S608 (model table name)
    "(integration_id, received_at, body, body_digest, delivery_key, alert_count, response, "
    "attempts, error) VALUES (%s, %s, %s, %s, %s, %s, %s, 0, '') "
    "ON CONFLICT (integration_id, delivery_key) WHERE delivery_key IS NOT NULL DO NOTHING "
    "RETURNING id"
)
_SELECT_DELIVERY = (
    f"SELECT body_digest, response FROM {RawEvent._meta.db_table} "  # noqa: S608 (model table name)
    "WHERE integration_id = %s AND delivery_key = %s"
)
# PostgreSQL, for a token in `_known`: insert only if the integration still has this token, kind,
# enabled flag and limit; answers (integration still as known, id of the new row or NULL).
_INSERT_RAW_CHECKED = (
    f"WITH i AS (SELECT id FROM {Integration._meta.db_table} "  # noqa: S608 (model table name)
    "WHERE id = %s AND token_digest = %s AND kind = %s AND enabled "
    "AND rate_limit_per_minute = %s), "
    f"ins AS (INSERT INTO {RawEvent._meta.db_table} "
    "(integration_id, received_at, body, body_digest, delivery_key, alert_count, response, "
    "attempts, error) "
    "SELECT i.id, %s::timestamptz, %s::text, %s::text, %s::text, %s::integer, %s::jsonb, 0, '' "
    "FROM i "
    "ON CONFLICT (integration_id, delivery_key) WHERE delivery_key IS NOT NULL DO NOTHING "
    "RETURNING id) "
    "SELECT EXISTS (SELECT 1 FROM i), (SELECT id FROM ins)"
)

# Integrations this process has authenticated: token digest -> (id, kind, per-minute limit).
# Only a hint that saves the SELECT on PostgreSQL: the INSERT re-checks token, kind, enabled and
# limit in the same statement, and a request the hint would turn away (invalid payload, over
# the limit) is authenticated again first; whenever the hint is stale the request takes the
# checked way from the start. So a rotated token, a disabled integration or a new limit act at
# once, as before, and nothing is stored for an integration that no longer accepts it.
_known: dict[str, tuple[int, str, int]] = {}
_KNOWN_MAX = 1000


class Rejected(Exception):
    def __init__(self, status: int, reason: str, detail: str, errors=None, headers=None):
        self.status, self.reason, self.detail = status, reason, detail
        self.errors = errors or []
        self.headers = headers or {}


def _error_body(kind: str, exc: Rejected) -> dict:
    if kind == "pagerduty":
        if exc.status == 429:
            return {
                "status": "throttle event",
                "message": "Requests for this integration are arriving too quickly. "
                "Please retry later.",
            }
        return {"status": "invalid event", "message": exc.detail, "errors": exc.errors}
    body = {"type": exc.reason, "detail": exc.detail}
    if exc.errors:
        body["errors"] = exc.errors
    return body


def _read_json(request: HttpRequest) -> tuple[bytes, object]:
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise Rejected(
            415,
            "unsupported_media_type",
            f"Content-Type must be application/json, not {content_type or 'empty'!r}.",
        )
    limit = settings.ALERTS_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise Rejected(413, "payload_too_large", f"Request body is larger than {limit} bytes.")
    body = request.read(limit + 1)
    if len(body) > limit:
        raise Rejected(413, "payload_too_large", f"Request body is larger than {limit} bytes.")
    try:
        return body, load_json(body)
    except (ValueError, RecursionError) as exc:
        raise Rejected(400, "invalid_json", f"Request body is not valid JSON: {exc}") from None


def _bearer_token(request: HttpRequest) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Rejected(
            401,
            "not_authenticated",
            "Send the integration token as 'Authorization: Bearer <token>'.",
            headers={"WWW-Authenticate": 'Bearer realm="alerts"'},
        )
    return token.strip()


def _cursor():
    """A cursor for this view's few statements.

    On PostgreSQL, a plain psycopg cursor on Django's connection: it binds parameters
    server-side (the body travels as a parameter instead of being quoted into the SQL text),
    lets psycopg prepare the repeated statements, and skips Django's cursor wrapper. Elsewhere
    (SQLite) Django's own cursor.
    """
    if connection.vendor != "postgresql":
        return connection.cursor()
    import psycopg

    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def _integration(token: str, kind: str) -> tuple[int, int]:
    """(id, per-minute limit) of the enabled integration of `kind` owning `token`."""
    with _cursor() as cursor:
        cursor.execute(_SELECT_INTEGRATION, [token_digest(token)])
        row = cursor.fetchone()
    if row is None or row[1] != kind:
        if kind == "pagerduty":
            raise Rejected(
                400,
                "invalid_routing_key",
                "Event object is invalid",
                errors=["Invalid routing key"],
            )
        raise Rejected(
            401,
            "authentication_failed",
            "Unknown integration token.",
            headers={"WWW-Authenticate": 'Bearer realm="alerts"'},
        )
    integration_id, _, enabled, per_minute = row
    if not enabled:
        raise Rejected(
            403,
            "integration_disabled",
            "This integration is disabled.",
            errors=["Integration is disabled"],
        )
    return integration_id, per_minute


def _record(
    *,
    integration_id: int,
    kind: str,
    body: bytes,
    digest: str,
    count: int,
    idempotency_key: str | None,
    response: dict,
    check: tuple[str, int] | None = None,
) -> tuple[dict, bool] | None:
    """Insert the raw delivery; on a known delivery key return the first answer instead.

    With `check` (token digest, per-minute limit; PostgreSQL only) the row is written only if
    the integration still matches; None if it does not.
    """
    if idempotency_key is not None:
        delivery_key = "idem:" + idempotency_key
    elif kind in RESENDING_SOURCES:
        delivery_key = "body:" + digest
    else:
        delivery_key = None
    received_at = connection.ops.adapt_datetimefield_value(timezone.now())
    params = [
        integration_id,
        received_at,
        body.decode(),
        digest,
        delivery_key,
        count,
        json.dumps(response),
    ]
    with _cursor() as cursor:
        if check is None:
            cursor.execute(_INSERT_RAW, params)
            if cursor.fetchone() is not None:
                return response, True
        else:
            token_key, per_minute = check
            cursor.execute(
                _INSERT_RAW_CHECKED, [integration_id, token_key, kind, per_minute, *params[1:]]
            )
            still_known, new_id = cursor.fetchone()
            if not still_known:
                return None
            if new_id is not None:
                return response, True
        cursor.execute(_SELECT_DELIVERY, [integration_id, delivery_key])
        row = cursor.fetchone()
    stored_digest, stored_response = row
    if idempotency_key is not None and stored_digest != digest:
        raise Rejected(
            422,
            "idempotency_key_reused",
            "This Idempotency-Key was already used with a different body.",
        )
    if isinstance(stored_response, str):  # SQLite hands JSON back as text
        stored_response = json.loads(stored_response)
    return stored_response, False


def _invalid_payload(kind: str, exc: InvalidPayload) -> Rejected:
    return Rejected(
        400,
        "invalid_payload",
        "Event object is invalid" if kind == "pagerduty" else "The alert payload is invalid.",
        errors=exc.errors,
    )


def _rate_limited(retry_after: int) -> Rejected:
    return Rejected(
        429,
        "rate_limited",
        f"Too many alerts for this integration; retry in {retry_after} s.",
        headers={"Retry-After": str(retry_after)},
    )


def _answer(kind: str, alerts: list) -> dict:
    if kind == "pagerduty":
        return {"status": "success", "message": "Event processed", "dedup_key": alerts[0].dedup_key}
    return {"status": "accepted", "alerts": len(alerts)}


def _remember(token_key: str, kind: str, integration_id: int, per_minute: int) -> None:
    if connection.vendor != "postgresql":
        return
    if len(_known) >= _KNOWN_MAX:
        _known.clear()
    _known[token_key] = (integration_id, kind, per_minute)


def _still_known(token: str, token_key: str, kind: str, known: tuple[int, int]) -> bool:
    """Authenticate again; False (and the hint dropped or refreshed) if it was stale."""
    try:
        current = _integration(token, kind)
    except Rejected:
        _known.pop(token_key, None)
        return False
    if current != known:
        _remember(token_key, kind, *current)
        return False
    return True


def _accept_known(
    known: tuple[int, int],
    *,
    token: str,
    token_key: str,
    kind: str,
    payload: object,
    body: bytes,
    digest: str,
    idempotency_key: str | None,
):
    """Accept for an integration in `_known` without the SELECT. Returns (alerts, answer,
    fresh), raises Rejected for what the checked way would refuse too, or returns None: the
    hint was stale, take the checked way (nothing stored, nothing left counted)."""
    integration_id, per_minute = known
    try:
        alerts = source_for(kind).parse(payload, body_digest=digest)
    except InvalidPayload as exc:
        if not _still_known(token, token_key, kind, known):
            return None
        raise _invalid_payload(kind, exc) from None
    count = max(len(alerts), 1)
    now = time.time()
    retry_after = ratelimit.consume(
        integration_id=integration_id, count=count, per_minute=per_minute, now=now
    )
    if retry_after is not None:
        if not _still_known(token, token_key, kind, known):
            ratelimit.refund(integration_id=integration_id, count=count, now=now)
            return None
        raise _rate_limited(retry_after)
    recorded = _record(
        integration_id=integration_id,
        kind=kind,
        body=body,
        digest=digest,
        count=len(alerts),
        idempotency_key=idempotency_key,
        response=_answer(kind, alerts),
        check=(token_key, per_minute),
    )
    if recorded is None:
        ratelimit.refund(integration_id=integration_id, count=count, now=now)
        _known.pop(token_key, None)
        return None
    return alerts, *recorded


def _accept(request: HttpRequest, kind: str) -> JsonResponse:
    label = kind
    try:
        if request.method != "POST":
            raise Rejected(405, "method_not_allowed", "Use POST.", headers={"Allow": "POST"})
        idempotency_key = request.META.get(IDEMPOTENCY_HEADER)
        if idempotency_key is not None and not 0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
            raise Rejected(
                400,
                "invalid_idempotency_key",
                f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters.",
            )
        body, payload = _read_json(request)
        token = routing_key_of(payload) if kind == "pagerduty" else _bearer_token(request)
        digest = hashlib.sha256(body).hexdigest()
        token_key = token_digest(token) if token else ""
        known = _known.get(token_key) if token else None
        accepted = None
        if known is not None and known[1] == kind:
            label = str(known[0])
            accepted = _accept_known(
                (known[0], known[2]),
                token=token,
                token_key=token_key,
                kind=kind,
                payload=payload,
                body=body,
                digest=digest,
                idempotency_key=idempotency_key,
            )
            label = label if accepted is not None else kind
        if accepted is None:
            # Authenticate before validating, so strangers learn nothing about the format; a
            # PagerDuty event without a routing key is reported with its other problems below.
            if token:
                integration_id, per_minute = _integration(token, kind)
                label = str(integration_id)
                _remember(token_key, kind, integration_id, per_minute)
            try:
                alerts = source_for(kind).parse(payload, body_digest=digest)
            except InvalidPayload as exc:
                raise _invalid_payload(kind, exc) from None
            retry_after = ratelimit.consume(
                integration_id=integration_id, count=max(len(alerts), 1), per_minute=per_minute
            )
            if retry_after is not None:
                raise _rate_limited(retry_after)
            response, fresh = _record(
                integration_id=integration_id,
                kind=kind,
                body=body,
                digest=digest,
                count=len(alerts),
                idempotency_key=idempotency_key,
                response=_answer(kind, alerts),
            )
        else:
            alerts, response, fresh = accepted
    except Rejected as exc:
        metrics.rejected(integration=label, kind=kind, reason=exc.reason)
        reply = JsonResponse(_error_body(kind, exc), status=exc.status)
        for name, value in exc.headers.items():
            reply[name] = value
        return reply
    metrics.accepted(integration=label, kind=kind, alerts=len(alerts), fresh=fresh)
    if fresh:
        nudge_worker()
    reply = JsonResponse(response, status=202)
    if not fresh:
        reply["Idempotent-Replayed"] = "true"
    return reply


@csrf_exempt
def alertmanager_webhook(request: HttpRequest) -> JsonResponse:
    return _accept(request, "alertmanager")


@csrf_exempt
def grafana_webhook(request: HttpRequest) -> JsonResponse:
    return _accept(request, "grafana")


@csrf_exempt
def generic_webhook(request: HttpRequest) -> JsonResponse:
    return _accept(request, "generic")


@csrf_exempt
def pagerduty_enqueue(request: HttpRequest) -> JsonResponse:
    return _accept(request, "pagerduty")


def delivery_record(*, integration: Integration, payload: dict) -> bool:
    """Store a delivery exactly as the endpoint would, without a request and without waking a
    worker (demo data, tests, replaying captured payloads). False if it was a known delivery."""
    body = json.dumps(payload).encode()
    digest = hashlib.sha256(body).hexdigest()
    alerts = source_for(integration.kind).parse(load_json(body), body_digest=digest)
    _, fresh = _record(
        integration_id=integration.pk,
        kind=integration.kind,
        body=body,
        digest=digest,
        count=len(alerts),
        idempotency_key=None,
        response={"status": "accepted", "alerts": len(alerts)},
    )
    return fresh
