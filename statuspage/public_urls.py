"""The public read-only paths alone: the URLconf of the slim WSGI handler (ops_portal/wsgi.py).

Every statuspage path whose view is `public_read` (responses.py), under the same namespace and
routes as in statuspage.urls, so metrics label them alike and nothing is listed twice. The
subscription pages and the admin settings (sessions, CSRF, login) are not public_read and so
are never served here.
"""

from django.urls import include, path

from . import urls
from .responses import PUBLIC_READ

public_urlpatterns = [
    pattern
    for pattern in urls.urlpatterns
    if getattr(getattr(pattern, "callback", None), PUBLIC_READ, False)
]

urlpatterns = [path("", include((public_urlpatterns, urls.app_name)))]
