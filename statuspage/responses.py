"""One way to answer a public status-page request: cached, conditional, same for everyone.

The views never touch the session or the user, so answers carry no `Vary: Cookie` and a
proxy or CDN may share them; they are GET/HEAD only and write nothing, hence no CSRF check
(which would otherwise turn a POST into a 403 before the 405 it deserves).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.views.decorators.csrf import csrf_exempt

from .cache import cached_body

ALLOWED_METHODS = ("GET", "HEAD")
JSON = "application/json; charset=utf-8"
HTML = "text/html; charset=utf-8"


def public_read(*, json: bool):
    """Decorate a view that only reads: 405 for other methods (JSON body for API clients)."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method not in ALLOWED_METHODS:
                detail = f'Method "{request.method}" not allowed.'
                if json:
                    response = JsonResponse(
                        {"type": "method_not_allowed", "detail": detail}, status=405
                    )
                else:
                    response = HttpResponse(detail, status=405, content_type="text/plain")
                response["Allow"] = ", ".join(ALLOWED_METHODS)
                return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def cached_response(
    request: HttpRequest, name: str, build: Callable[[], str], *, content_type: str, cors: bool
) -> HttpResponse:
    """Serve the cached body `name` (built by `build()` on a miss), with a 304 for its ETag or,
    from clients that send no If-None-Match, for its Last-Modified date."""
    body = cached_body(name, build)
    last_modified = body.last_modified
    if last_modified is not None and last_modified > time.time():
        # A date still ahead of the clock (two changes in one second) must not be sent (RFC 9110
        # 8.8.2.1); the ETag alone validates until that second has come.
        last_modified = None
    response = get_conditional_response(request, etag=body.etag, last_modified=last_modified)
    if response is None:
        content = b"" if request.method == "HEAD" else body.content
        response = HttpResponse(content, content_type=content_type)
        response["Content-Length"] = str(len(body.content))
    response["ETag"] = body.etag
    if last_modified is not None:
        response["Last-Modified"] = http_date(last_modified)
    response["Cache-Control"] = f"public, max-age={settings.STATUSPAGE_MAX_AGE_SECONDS}"
    if cors:
        # Widgets on other sites read the JSON from the browser (Statuspage allows any origin).
        response["Access-Control-Allow-Origin"] = "*"
    return response
