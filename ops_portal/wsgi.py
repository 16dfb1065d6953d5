"""WSGI entry point: production HTTP is served by gunicorn (see Procfile `web`).

Two hot paths go through a second Django handler with only the middleware they need (metrics,
security headers, host validation and Content-Length, X-Frame-Options): sessions, CSRF,
authentication, messages, htmx and static files do nothing for them except cost time.

- The alert ingestion POSTs (ARCHITECTURE.md §4), the hot path of an alert storm:
  settings.INGEST_MIDDLEWARE and a URLconf holding just those paths.
- The public status page's GETs and HEADs (statuspage/public_urls.py: the pages, the v2 JSON,
  the feeds), read by everyone at once during an outage: settings.STATUSPAGE_MIDDLEWARE. Their
  views are anonymous, cookie-less and CSRF-exempt by contract (statuspage/responses.py); the
  subscription and admin pages under /status/ are not among them.

Everything else, and any other method or spelling of those paths, takes the full stack.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ops_portal.settings")

django_application = get_wsgi_application()

# Imported after the application so the app registry is ready.
from django.conf import settings  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler, get_path_info  # noqa: E402
from django.urls import Resolver404, ResolverMatch, URLResolver, get_resolver  # noqa: E402

INGEST_URLCONF = "alerts.ingest_urls"
STATUS_URLCONF = "statuspage.public_urls"
# Where `application` leaves the public status route it resolved, for StatusHandler.
STATUS_MATCH = "ops_portal.status_match"
# Every public status path starts with one of these; anything else is not even resolved.
STATUS_PREFIXES = ("/status/", "/api/v2/", "/history.")


class SlimHandler(WSGIHandler):
    """Django's WSGI handler with its own middleware list (the setting `middleware`)."""

    middleware = ""

    def load_middleware(self, is_async=False):
        # BaseHandler builds the chain from settings.MIDDLEWARE; this runs once, at import,
        # before gunicorn's threads exist.
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = getattr(settings, self.middleware)
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


class IngestHandler(SlimHandler):
    middleware = "INGEST_MIDDLEWARE"

    def get_response(self, request):
        request.urlconf = INGEST_URLCONF
        return super().get_response(request)


class StatusHandler(SlimHandler):
    """Serves the route `application` resolved. Not through request.urlconf: that would also
    make reverse() use the small URLconf, and the pages link to the subscription pages."""

    middleware = "STATUSPAGE_MIDDLEWARE"

    def resolve_request(self, request):
        match = request.environ[STATUS_MATCH]
        request.resolver_match = match
        return match


def _ingest_paths() -> frozenset[str]:
    from importlib import import_module

    patterns = import_module(INGEST_URLCONF).urlpatterns
    return frozenset("/" + str(pattern.pattern) for pattern in patterns)


ingest_application = IngestHandler()
INGEST_PATHS = _ingest_paths()
status_application = StatusHandler()
_status_resolver = get_resolver(STATUS_URLCONF)


def _fixed_routes(resolver: URLResolver) -> dict[str, ResolverMatch]:
    """The public paths without parameters (the page, the JSON, the feeds: what a surge
    reads), each resolved once. A match is only read by the handler, so one serves all."""
    fixed = {}

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif not pattern.pattern.converters:
                fixed["/" + route] = resolver.resolve("/" + route)

    walk(resolver.url_patterns, "")
    return fixed


_status_fixed = _fixed_routes(_status_resolver)


def status_route(environ) -> ResolverMatch | None:
    """The public status route of a GET or HEAD, or None for the full stack."""
    if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        return None
    path = get_path_info(environ) or "/"  # decoded as the request's path_info will be
    match = _status_fixed.get(path)
    if match is not None or not path.startswith(STATUS_PREFIXES):
        return match
    try:
        return _status_resolver.resolve(path)
    except Resolver404:
        return None


def application(environ, start_response):
    if environ.get("REQUEST_METHOD") == "POST" and environ.get("PATH_INFO") in INGEST_PATHS:
        return ingest_application(environ, start_response)
    match = status_route(environ)
    if match is not None:
        environ[STATUS_MATCH] = match
        return status_application(environ, start_response)
    return django_application(environ, start_response)
