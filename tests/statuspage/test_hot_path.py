"""The status page's hot path: bodies from process memory, a slim WSGI handler, gzip.

statuspage/cache.py keeps the current version's bodies in each process and reads the version
key again at most every VERSION_CHECK_SECONDS; ops_portal/wsgi.py serves the public GETs
without the session, CSRF, auth and messages middleware; responses.py serves the gzip body to
clients that ask. None of it may change an answer, delay a write made by the same process, or
open the subscription and admin pages to the slim handler.

Time is a clock value passed in (`clock=`), never slept. Redis reads are counted by the cache's
own metric, and shown for real by pointing the cache at a dead server: what memory serves then
still has the date only Redis could have given it.
"""

from __future__ import annotations

import gzip
import io
import sys
import uuid
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from prometheus_client import REGISTRY

from catalog.models import ComponentStatus
from catalog.services import service_set_status
from ops_portal import wsgi
from statuspage import cache as status_cache
from statuspage.cache import (
    MEMORY_BODIES,
    MODIFIED_KEY,
    VERSION_CHECK_SECONDS,
    VERSION_KEY,
    cached_body,
)
from tests.factories import ServiceFactory

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

T0 = 1_000_000.0  # a clock value no earlier read can be fresh against
WINDOW = VERSION_CHECK_SECONDS
DEAD_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }
}


@pytest.fixture(autouse=True)
def _no_remembered_dates():
    """As in test_conditional_get.py: the dates outlive the page cache by design, so one test's
    bodies would push the next one's dates ahead of the clock (and out of the answers)."""
    names = [
        "html:home",
        f"html:history:{timezone.now():%Y-%m}",
        "v2:summary",
        "v2:status",
        "feed:atom",
        "feed:rss",
        "test:hot",
    ]
    keys = [MODIFIED_KEY.format(name=name) for name in names]
    cache.delete_many(keys)
    yield
    cache.delete_many(keys)


def reads(layer: str) -> float:
    value = REGISTRY.get_sample_value("opsportal_statuspage_cache_reads_total", {"layer": layer})
    return value or 0.0


class Builds:
    """A body builder that counts its calls and can change what it builds."""

    def __init__(self, text: str = "one"):
        self.text = text
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        return self.text


@pytest.fixture
def builds() -> Builds:
    return Builds()


# --- the memory layer -------------------------------------------------------------------------


def test_within_the_window_the_body_comes_from_memory_without_redis(builds):
    first = cached_body("test:hot", builds, clock=T0)
    redis_before, memory_before = reads("redis"), reads("memory")
    served = [cached_body("test:hot", builds, clock=T0 + step) for step in (0, 0.1, WINDOW - 0.01)]
    assert served == [first] * 3
    assert builds.calls == 1
    assert reads("redis") == redis_before  # neither the version key nor the body
    assert reads("memory") == memory_before + 3


def test_within_the_window_memory_serves_even_with_redis_gone(builds, settings):
    first = cached_body("test:hot", builds, clock=T0)
    assert first.last_modified is not None  # a date only Redis gives
    settings.CACHES = DEAD_REDIS
    assert cached_body("test:hot", builds, clock=T0 + 0.2) == first
    assert builds.calls == 1


def test_after_the_window_the_version_is_read_again_and_the_body_stays(builds):
    first = cached_body("test:hot", builds, clock=T0)
    redis_before = reads("redis")
    assert cached_body("test:hot", builds, clock=T0 + WINDOW) == first
    assert builds.calls == 1
    assert reads("redis") == redis_before + 1  # the version key only: same version, same body
    assert cached_body("test:hot", builds, clock=T0 + WINDOW + 0.1) == first
    assert reads("redis") == redis_before + 1


def test_a_write_in_this_process_shows_at_once(builds):
    service = ServiceFactory(name="API")
    assert cached_body("test:hot", builds, clock=T0).content == b"one"
    builds.text = "two"
    service_set_status(service=service, status=ComponentStatus.MAJOR_OUTAGE)
    assert cached_body("test:hot", builds, clock=T0 + 0.01).content == b"two"
    assert builds.calls == 2


def test_a_write_in_another_process_shows_after_the_window(builds):
    assert cached_body("test:hot", builds, clock=T0).content == b"one"
    builds.text = "two"
    cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)  # as another process's invalidate()
    assert cached_body("test:hot", builds, clock=T0 + WINDOW - 0.01).content == b"one"
    assert cached_body("test:hot", builds, clock=T0 + WINDOW).content == b"two"
    assert builds.calls == 2


def test_a_body_another_process_built_comes_from_redis_once(builds):
    cached_body("test:hot", builds, clock=T0)
    status_cache._memory.forget()  # as a fresh process: nothing in memory, same Redis
    redis_before = reads("redis")
    cached_body("test:hot", builds, clock=T0 + 1)
    cached_body("test:hot", builds, clock=T0 + 1.1)
    assert builds.calls == 1
    assert reads("redis") == redis_before + 2  # the version key, then the body; then memory


def test_memory_holds_a_bounded_number_of_bodies():
    for index in range(MEMORY_BODIES + 1):
        cached_body(f"test:many:{index}", lambda index=index: str(index), clock=T0)
    redis_before = reads("redis")
    cached_body("test:many:1", lambda: "never built", clock=T0 + 0.1)
    assert reads("redis") == redis_before  # recent names are in memory
    oldest = cached_body("test:many:0", lambda: "never built", clock=T0 + 0.1)
    assert oldest.content == b"0" and reads("redis") == redis_before + 1  # dropped, from Redis


def test_memory_keeps_a_body_no_longer_than_redis_does(builds, settings):
    """STATUSPAGE_CACHE_SECONDS still bounds what a forgotten invalidation can cost."""
    built = 1_700_000_000.0
    lifetime = settings.STATUSPAGE_CACHE_SECONDS
    cached_body("test:hot", builds, now=built, clock=T0)
    memory_before, redis_before = reads("memory"), reads("redis")
    cached_body("test:hot", builds, now=built + lifetime - 1, clock=T0 + 0.1)
    assert (reads("memory"), reads("redis")) == (memory_before + 1, redis_before)
    cached_body("test:hot", builds, now=built + lifetime, clock=T0 + 0.2)
    assert (reads("memory"), reads("redis")) == (memory_before + 1, redis_before + 1)


def test_the_reads_are_on_the_metrics_page(client, builds):
    cached_body("test:hot", builds)
    cached_body("test:hot", builds)
    text = client.get("/metrics").content.decode()
    for layer in ("memory", "redis", "database"):
        assert f'opsportal_statuspage_cache_reads_total{{layer="{layer}"}}' in text


def test_with_redis_down_a_body_is_built_once_per_window(builds, settings):
    settings.CACHES = DEAD_REDIS
    first = cached_body("test:hot", builds, clock=T0)
    assert first.content == b"one" and first.last_modified is None
    assert cached_body("test:hot", builds, clock=T0 + WINDOW - 0.01) == first
    assert builds.calls == 1
    builds.text = "two"
    assert cached_body("test:hot", builds, clock=T0 + WINDOW).content == b"two"
    assert builds.calls == 2


def test_every_body_carries_its_gzip_encoding(builds):
    builds.text = "é" * 5000
    body = cached_body("test:hot", builds, clock=T0)
    assert gzip.decompress(body.gzipped) == body.content == ("é" * 5000).encode()
    status_cache._memory.forget()
    assert cached_body("test:hot", builds, clock=T0 + 1).gzipped == body.gzipped  # via Redis


# --- the slim WSGI handler --------------------------------------------------------------------

PUBLIC_PATHS = [
    "/status/",
    "/status/maintenance/7/",
    "/status/incidents/INC-12/",
    "/status/history/",
    "/history.atom",
    "/history.rss",
    "/api/v2/summary.json",
    "/api/v2/status.json",
    "/api/v2/incidents.json",
    "/api/v2/incidents/unresolved.json",
    "/api/v2/components.json",
    "/api/v2/scheduled-maintenances.json",
    "/api/v2/scheduled-maintenances/upcoming.json",
    "/api/v2/scheduled-maintenances/active.json",
]
FULL_STACK_PATHS = [
    "/status/subscribe/",
    "/status/subscribe/sent/",
    "/status/subscribe/confirm/abc/",
    "/status/unsubscribe/abc/",
    "/status/admin/settings/",
    "/status/admin/subscribers/",
    "/status/admin/subscribers/deliveries/1/retry/",
    "/status",  # CommonMiddleware's slash redirect
    "/status/nothing/",
    "/api/v2/nothing.json",
    "/api/v1/services/",
    "/history.json",
    "/",
]


def environ(method: str, path: str, *, host: str = "127.0.0.1:8000", **headers) -> dict:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": host,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    environ.update({"HTTP_" + name.upper(): value for name, value in headers.items()})
    return environ


@pytest.fixture
def wsgi_call() -> Iterator:
    """Call a WSGI application in-process. Like Django's test client, keep request signals
    from closing the test's connection (it lives inside the test transaction)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)

    def call(app, method: str, path: str, **options) -> tuple[str, list, bytes]:
        started = []
        chunks = app(
            environ(method, path, **options),
            lambda status, headers, exc_info=None: started.append((status, headers)),
        )
        try:
            content = b"".join(chunks)
        finally:
            chunks.close()
        status, headers = started[0]
        return status, headers, content

    yield call
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def headers_of(answer) -> dict[str, str]:
    return dict(answer[1])


def test_the_slim_urlconf_holds_exactly_the_public_read_paths():
    routes = {
        f"GET {path}"
        for path in PUBLIC_PATHS + FULL_STACK_PATHS
        if wsgi.status_route(environ("GET", path)) is not None
    }
    assert routes == {f"GET {path}" for path in PUBLIC_PATHS}


@pytest.mark.parametrize("path", ["/status/", "/api/v2/summary.json", "/history.atom"])
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"])
def test_only_gets_and_heads_take_the_slim_handler(path, method):
    assert wsgi.status_route(environ("HEAD", path)) is not None
    assert wsgi.status_route(environ(method, path)) is None


def test_the_settings_page_still_requires_a_login(wsgi_call):
    status, headers, _ = wsgi_call(wsgi.application, "GET", "/status/admin/settings/")
    assert status.startswith("302")
    assert dict(headers)["Location"].startswith("/login")


def test_the_subscribe_form_still_gets_its_csrf_cookie(wsgi_call):
    status, headers, content = wsgi_call(wsgi.application, "GET", "/status/subscribe/")
    assert status.startswith("200")
    cookies = [value.strip() for name, value in headers if name == "Set-Cookie"]
    assert any(cookie.startswith("csrftoken=") for cookie in cookies)
    assert b"csrfmiddlewaretoken" in content


@pytest.mark.parametrize(
    "path", ["/status/", "/api/v2/summary.json", "/history.rss", "/status/history/"]
)
@pytest.mark.parametrize(
    "case", ["get", "head", "gzip", "if-none-match", "if-modified-since", "bad host"]
)
def test_the_slim_handler_answers_exactly_like_the_full_stack(wsgi_call, path, case):
    ServiceFactory(name="API")
    first = wsgi_call(wsgi.django_application, "GET", path)
    options = {}
    method = "HEAD" if case == "head" else "GET"
    if case == "gzip":
        options["accept_encoding"] = "gzip, deflate, br"
    elif case == "if-none-match":
        options["if_none_match"] = headers_of(first)["ETag"]
    elif case == "if-modified-since":
        options["if_modified_since"] = headers_of(first)["Last-Modified"]
    elif case == "bad host":
        options["host"] = "evil.example"
    full = wsgi_call(wsgi.django_application, method, path, **options)
    slim = wsgi_call(wsgi.application, method, path, **options)
    assert slim[0] == full[0]
    assert slim[1] == full[1]  # every header, in order, security headers and CORS included
    assert slim[2] == full[2]


def test_a_slim_answer_sets_no_cookie_and_keeps_the_security_headers(wsgi_call, settings):
    status, headers, _ = wsgi_call(wsgi.application, "GET", "/status/")
    names = [name for name, _ in headers]
    assert status.startswith("200")
    assert "Set-Cookie" not in names
    assert dict(headers)["X-Frame-Options"] == "DENY"
    assert dict(headers)["X-Content-Type-Options"] == "nosniff"
    assert "Cookie" not in dict(headers)["Vary"]


def test_a_missing_public_page_is_the_same_404_as_on_the_full_stack(wsgi_call):
    """Django's 404 view sets a CSRF cookie on both stacks (its template has a token)."""
    path = "/status/incidents/INC-999999/"
    full = wsgi_call(wsgi.django_application, "GET", path)
    slim = wsgi_call(wsgi.application, "GET", path)
    assert slim[0] == full[0] and slim[0].startswith("404")
    assert [name for name, _ in slim[1]] == [name for name, _ in full[1]]


def test_slim_requests_are_counted_under_the_same_route(wsgi_call):
    labels = {"method": "GET", "route": "/api/v2/summary.json", "status": "200"}
    before = REGISTRY.get_sample_value("opsportal_http_requests_total", labels) or 0
    wsgi_call(wsgi.application, "GET", "/api/v2/summary.json")
    assert REGISTRY.get_sample_value("opsportal_http_requests_total", labels) == before + 1


# --- gzip -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/status/", "/api/v2/summary.json", "/history.atom"])
def test_a_client_accepting_gzip_gets_the_same_body_compressed(client, path):
    ServiceFactory(name="API")
    plain = client.get(path)
    packed = client.get(path, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert plain.status_code == packed.status_code == 200
    assert packed["Content-Encoding"] == "gzip" and not plain.has_header("Content-Encoding")
    assert gzip.decompress(packed.content) == plain.content
    assert int(packed["Content-Length"]) == len(packed.content)
    assert plain["Vary"] == packed["Vary"] == "Accept-Encoding"
    assert packed["ETag"] == plain["ETag"][:-1] + '-gzip"'
    assert packed["Last-Modified"] == plain["Last-Modified"]
    assert packed["Content-Type"] == plain["Content-Type"]


def test_the_gzip_variant_answers_304_to_its_own_etag(client):
    packed = client.get("/status/", HTTP_ACCEPT_ENCODING="gzip")
    again = client.get("/status/", HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=packed["ETag"])
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == packed["ETag"] and again["Vary"] == "Accept-Encoding"
    assert not again.has_header("Content-Encoding")
    # The plain body's tag names another representation: the whole body again.
    assert client.get("/status/", HTTP_IF_NONE_MATCH=packed["ETag"]).status_code == 200


def test_head_with_gzip_announces_the_compressed_length(client):
    packed = client.get("/api/v2/summary.json", HTTP_ACCEPT_ENCODING="gzip")
    head = client.head("/api/v2/summary.json", HTTP_ACCEPT_ENCODING="gzip")
    assert head.content == b""
    assert head["Content-Length"] == packed["Content-Length"]
    assert head["Content-Encoding"] == "gzip"


@pytest.mark.parametrize(
    ("accept", "gzipped"),
    [
        ("gzip", True),
        ("GZIP", True),
        ("x-gzip", True),
        ("deflate, gzip;q=0.5", True),
        ("gzip; q=1.0", True),
        ("gzip;q=0", False),
        ("gzip;q=0.000", False),
        ("gzip;q=abc", False),
        ("br", False),
        ("identity", False),
        ("*", False),
        ("", False),
    ],
)
def test_gzip_only_when_the_client_accepts_it(client, accept, gzipped):
    response = client.get("/api/v2/status.json", HTTP_ACCEPT_ENCODING=accept)
    assert response.status_code == 200
    assert response.has_header("Content-Encoding") is gzipped
    assert response["Vary"] == "Accept-Encoding"
