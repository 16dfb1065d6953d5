"""WSGI entry point: production HTTP is served by gunicorn (see Procfile `web`).

The alert ingestion paths (ARCHITECTURE.md §4) are the hot path of an alert storm. They go
through a second Django handler with only the middleware they need (settings.INGEST_MIDDLEWARE:
metrics, security headers, host validation and Content-Length, X-Frame-Options) and a URLconf
holding just those paths. Sessions, CSRF, authentication, messages, htmx and static files do
nothing for a token-authenticated, CSRF-exempt JSON POST except cost time. Everything else, and
any other method or spelling of those paths, takes the full stack as before.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ops_portal.settings")

django_application = get_wsgi_application()

# Imported after the application so the app registry is ready.
from django.conf import settings  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402

INGEST_URLCONF = "alerts.ingest_urls"


class IngestHandler(WSGIHandler):
    """Django's WSGI handler with its own middleware list and URLconf."""

    def load_middleware(self, is_async=False):
        # BaseHandler builds the chain from settings.MIDDLEWARE; this runs once, at import,
        # before gunicorn's threads exist.
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.INGEST_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full

    def get_response(self, request):
        request.urlconf = INGEST_URLCONF
        return super().get_response(request)


def _ingest_paths() -> frozenset[str]:
    from importlib import import_module

    patterns = import_module(INGEST_URLCONF).urlpatterns
    return frozenset("/" + str(pattern.pattern) for pattern in patterns)


ingest_application = IngestHandler()
INGEST_PATHS = _ingest_paths()


def application(environ, start_response):
    if environ.get("REQUEST_METHOD") == "POST" and environ.get("PATH_INFO") in INGEST_PATHS:
        return ingest_application(environ, start_response)
    return django_application(environ, start_response)
