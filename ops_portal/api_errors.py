"""One machine-readable error shape for every API error.

    {"type": "validation_error", "detail": "Invalid input.", "errors": {"field": ["message"]}}
    {"type": "not_authenticated", "detail": "Authentication credentials were not provided."}

`type` is the DRF error code (stable, for programs); `detail` is for people.
"""

from __future__ import annotations

from django.db import DataError
from django.http import JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .service_errors import ServiceRefusal


def _code(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else exc.default_code


def _nul_in_input(exc) -> bool:
    """A lookup with a NUL character: PostgreSQL text cannot hold one, so psycopg refuses the
    query before it is sent. The input is bad, not the server: any field, filter or related
    slug can carry it, so it is answered here once rather than in every serializer."""
    return isinstance(exc, DataError) and "NUL (0x00)" in str(exc)


def exception_handler(exc, context):
    if _nul_in_input(exc):
        return Response(
            {
                "type": "invalid_input",
                "detail": "Text in the request may not contain NUL (0x00) characters.",
            },
            status=400,
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {"type": "validation_error", "detail": "Invalid input.", "errors": errors}
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        body = {"type": _code(exc), "detail": str(detail) if isinstance(detail, str) else detail}
        for key in ("allowed", "extra"):
            if hasattr(exc, key):
                body[key] = getattr(exc, key)
        response.data = body
    return response


def api_not_found(request, exception=None):
    """JSON 404 for unknown paths under /api/, so API clients never have to parse HTML."""
    return JsonResponse(
        {"type": "not_found", "detail": f"No API endpoint at {request.path}."}, status=404
    )


class ServiceRefused(exceptions.APIException):
    """A service's refusal (ServiceRefusal) as an API error: its status, code and details."""

    def __init__(self, refusal: ServiceRefusal):
        self.status_code = refusal.http_status
        super().__init__(refusal.message, code=refusal.code)
        self.extra = refusal.extra


def call_service(fn, **kwargs):
    """Call a service function from a view; its refusal becomes the house error body."""
    try:
        return fn(**kwargs)
    except ServiceRefusal as refusal:
        raise ServiceRefused(refusal) from refusal
