"""One way to answer a public status-page request: cached, conditional, same for everyone.

The views never touch the session or the user, so answers carry no `Vary: Cookie` and a
proxy or CDN may share them; they are GET/HEAD only and write nothing, hence no CSRF check
(which would otherwise turn a POST into a 403 before the 405 it deserves).

A client that accepts gzip gets the body compressed once when it was built (cache.py), under
an ETag of its own; every answer carries `Vary: Accept-Encoding` so a shared cache keeps the
two apart. The bodies hold nothing secret (no CSRF token, nothing per visitor), so compressing
them gives an attacker nothing to guess (BREACH).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import lru_cache, wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.views.decorators.csrf import csrf_exempt

from .cache import cached_body

ALLOWED_METHODS = ("GET", "HEAD")
JSON = "application/json; charset=utf-8"
HTML = "text/html; charset=utf-8"


# Set on every public_read view: ops_portal/wsgi.py serves their GETs through the slim handler
# (statuspage/public_urls.py), which has no session, user or CSRF middleware.
PUBLIC_READ = "statuspage_public_read"


def public_read(*, json: bool):
    """Decorate a view that only reads: 405 for other methods (JSON body for API clients).

    Such a view must not touch the session, the user or the CSRF token: its GETs are served
    without that middleware (see PUBLIC_READ).
    """

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

        setattr(wrapper, PUBLIC_READ, True)
        return wrapper

    return decorate


def accepts_gzip(request: HttpRequest) -> bool:
    """Whether Accept-Encoding lists gzip with a non-zero quality (RFC 9110 12.5.3).

    Only an explicit `gzip` (or its alias `x-gzip`) counts; a quality that cannot be read gets
    the plain body, which every client can take.
    """
    for item in request.headers.get("Accept-Encoding", "").split(","):
        coding, *parameters = item.split(";")
        if coding.strip().lower() not in ("gzip", "x-gzip"):
            continue
        for parameter in parameters:
            key, _, value = parameter.partition("=")
            if key.strip().lower() == "q":
                try:
                    return float(value) > 0
                except ValueError:
                    return False
        return True
    return False


def gzip_etag(etag: str) -> str:
    """The gzip encoding's ETag: a different representation needs a different strong tag."""
    return etag[:-1] + '-gzip"'


# The same few dates are formatted for every answer until the next change.
_http_date = lru_cache(maxsize=64)(http_date)


def cached_response(
    request: HttpRequest, name: str, build: Callable[[], str], *, content_type: str, cors: bool
) -> HttpResponse:
    """Serve the cached body `name` (built by `build()` on a miss), with a 304 for its ETag or,
    from clients that send no If-None-Match, for its Last-Modified date."""
    body = cached_body(name, build)
    gzipped = bool(body.gzipped) and accepts_gzip(request)
    content, etag = (body.gzipped, gzip_etag(body.etag)) if gzipped else (body.content, body.etag)
    last_modified = body.last_modified
    if last_modified is not None and last_modified > time.time():
        # A date still ahead of the clock (two changes in one second) must not be sent (RFC 9110
        # 8.8.2.1); the ETag alone validates until that second has come.
        last_modified = None
    # The answer is ours from here, so headers are set outright (no Vary to merge with).
    headers = {
        "Vary": "Accept-Encoding",
        "ETag": etag,
        "Cache-Control": f"public, max-age={settings.STATUSPAGE_MAX_AGE_SECONDS}",
    }
    if last_modified is not None:
        headers["Last-Modified"] = _http_date(last_modified)
    if cors:
        # Widgets on other sites read the JSON from the browser (Statuspage allows any origin).
        headers["Access-Control-Allow-Origin"] = "*"
    response = get_conditional_response(request, etag=etag, last_modified=last_modified)
    if response is not None:  # 304, or 412 for a failed If-Match
        for header, value in headers.items():
            response[header] = value
        return response
    headers["Content-Length"] = str(len(content))
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    return HttpResponse(
        b"" if request.method == "HEAD" else content, content_type=content_type, headers=headers
    )
