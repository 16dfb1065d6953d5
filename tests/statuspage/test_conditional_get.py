"""Conditional GET on the public answers: Last-Modified / If-Modified-Since next to the ETag.

Dates have whole seconds while the page can change several times in one; the cache keeps each
body's last date and ETag across versions, so a changed body never shares the old one's date.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.utils.http import http_date, parse_http_date

from catalog.models import ComponentStatus
from catalog.services import service_set_status
from statuspage.cache import MODIFIED_KEY, cached_body, invalidate
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db

# (path, the cache name its view serves it under)
PATHS = [
    ("/status/", "html:home"),
    ("/api/v2/components.json", "v2:components"),
    ("/api/v2/summary.json", "v2:summary"),
]
HOUR = 3600


@pytest.fixture(autouse=True)
def _no_remembered_dates():
    """The dates outlive the page cache by design; start every test without them, so one test's
    bodies cannot push the next one's dates ahead of the clock."""
    keys = [MODIFIED_KEY.format(name=name) for _, name in PATHS] + [
        MODIFIED_KEY.format(name="test:body")
    ]
    cache.delete_many(keys)
    yield
    cache.delete_many(keys)


@pytest.fixture
def api():
    return ServiceFactory(name="API")


@pytest.mark.parametrize(("path", "name"), PATHS)
def test_an_unchanged_body_answers_304_to_its_last_modified_date(
    client, api, path, name, django_assert_num_queries
):
    first = client.get(path)
    assert first.status_code == 200
    stamp = first["Last-Modified"]
    assert parse_http_date(stamp)
    with django_assert_num_queries(0):
        again = client.get(path, HTTP_IF_MODIFIED_SINCE=stamp)
    assert again.status_code == 304 and again.content == b""
    assert again["Last-Modified"] == stamp and again["ETag"] == first["ETag"]
    later = http_date(parse_http_date(stamp) + HOUR)
    assert client.get(path, HTTP_IF_MODIFIED_SINCE=later).status_code == 304


@pytest.mark.parametrize(("path", "name"), PATHS)
def test_an_older_date_gets_the_whole_body(client, api, path, name):
    first = client.get(path)
    earlier = http_date(parse_http_date(first["Last-Modified"]) - HOUR)
    again = client.get(path, HTTP_IF_MODIFIED_SINCE=earlier)
    assert again.status_code == 200 and again.content == first.content


def test_a_change_in_the_same_second_still_gets_the_whole_body(client, api):
    first = client.get("/api/v2/components.json")
    service_set_status(service=api, status=ComponentStatus.MAJOR_OUTAGE)
    changed = client.get("/api/v2/components.json", HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert changed.status_code == 200 and changed["ETag"] != first["ETag"]
    # Either a later date, or none until that later second has come.
    if changed.has_header("Last-Modified"):
        assert parse_http_date(changed["Last-Modified"]) > parse_http_date(first["Last-Modified"])


def test_if_none_match_is_decided_before_if_modified_since(client, api):
    first = client.get("/api/v2/components.json")
    stale = client.get(
        "/api/v2/components.json",
        HTTP_IF_NONE_MATCH='"an-older-body"',
        HTTP_IF_MODIFIED_SINCE=first["Last-Modified"],
    )
    assert stale.status_code == 200


def test_a_date_ahead_of_the_clock_is_not_sent_and_never_answers_304(client, api):
    far = parse_http_date(http_date()) + 10 * HOUR
    cache.set(MODIFIED_KEY.format(name="v2:components"), {"etag": '"other"', "at": far})
    response = client.get("/api/v2/components.json", HTTP_IF_MODIFIED_SINCE=http_date(far + HOUR))
    assert response.status_code == 200
    assert not response.has_header("Last-Modified")
    assert response["ETag"].startswith('"')


def test_the_same_content_rebuilt_keeps_its_date():
    first = cached_body("test:body", lambda: "one", now=1000.2)
    invalidate()
    rebuilt = cached_body("test:body", lambda: "one", now=1060.0)
    assert first.last_modified == rebuilt.last_modified == 1000


def test_different_contents_within_one_second_get_later_dates():
    first = cached_body("test:body", lambda: "one", now=1000.2)
    invalidate()
    second = cached_body("test:body", lambda: "two", now=1000.7)
    invalidate()
    third = cached_body("test:body", lambda: "three", now=1000.9)
    invalidate()
    much_later = cached_body("test:body", lambda: "four", now=2000.0)
    assert (first.last_modified, second.last_modified, third.last_modified) == (1000, 1001, 1002)
    assert much_later.last_modified == 2000


def test_a_cached_body_keeps_the_date_it_was_built_with():
    built = cached_body("test:body", lambda: "one", now=1000.0)
    served = cached_body("test:body", lambda: "never built", now=5000.0)
    assert served == built
