"""WSGI entry point: production HTTP is served by gunicorn (see Procfile `web`)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ops_portal.settings")

application = get_wsgi_application()
