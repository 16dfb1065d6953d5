"""Query counts on a cache miss stay constant whatever the number of incidents: 1 or 200
incidents with public updates and notes, for every JSON body, page and feed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from maintenance.models import WindowState
from statuspage.cache import invalidate
from tests.factories import ServiceFactory, ServiceGroupFactory
from tests.statuspage.incident_support import bulk_incidents
from tests.statuspage.support import announce, make_window, move
from tests.statuspage.v2_schema import ALL_V2_PATHS

pytestmark = pytest.mark.django_db

# The snapshot: components (2), incidents (3), maintenance (4), uptime (1), and the page's
# configuration (1: its name in `page`).
SNAPSHOT_QUERIES = 11


def _populate(n):
    group = ServiceGroupFactory()
    services = [ServiceFactory(group=group), ServiceFactory(group=None)]
    hidden = ServiceFactory(show_on_status_page=False)
    incidents = bulk_incidents(n, services=[*services, hidden])
    for i in range(3):
        window = make_window(services, title=f"Window {i}")
        announce(window, "Planned.")
        move(window, WindowState.IN_PROGRESS)
        if i:
            move(window, WindowState.COMPLETED)
    return incidents


@pytest.mark.parametrize("n", [1, 200])
def test_queries_on_a_cache_miss_do_not_grow_with_incidents(
    client, n, django_assert_max_num_queries
):
    incidents = _populate(n)
    assert len(client.get("/api/v2/incidents.json").json()["incidents"]) == min(n, 50)
    newest = incidents[-1]
    month = newest.detected_at.strftime("%Y-%m")
    limits = {
        **{path: SNAPSHOT_QUERIES for path in ALL_V2_PATHS},
        "/status/": SNAPSHOT_QUERIES,
        # + 1 on every HTML page and feed: the page's configured name and brand (PageConfig).
        # + 1: the published postmortem's customer-facing summary, if any.
        reverse("statuspage:incident", args=[newest.number]): 7,
        f"/status/history/?month={month}": 9,
        "/history.atom": 3,
        "/history.rss": 3,
    }
    for path, limit in limits.items():
        invalidate()  # a cold cache: every body is built
        with django_assert_max_num_queries(limit):
            assert client.get(path).status_code == 200, path
