"""WSGI entry point of the baseline: `gunicorn bench.hello_wsgi:application`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.hello_settings"

application = get_wsgi_application()
