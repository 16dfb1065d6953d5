"""The public HTML page and a maintenance's own page: what a visitor reads, and what never shows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import ComponentStatus
from catalog.services import service_set_status
from maintenance.models import WindowState
from ops_portal.timeline import Visibility
from statuspage.templatetags.statuspage_tags import relative
from tests.factories import ServiceFactory, ServiceGroupFactory
from tests.statuspage.support import HOUR, announce, make_window, move

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "viewer", "responder", "commander", "admin"]
HOME = "/status/"


def page(client, url=HOME) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def catalog():
    core = ServiceGroupFactory(name="Core", position=1)
    return {
        "api": ServiceFactory(name="Public API", group=core),
        "db": ServiceFactory(name="Orders DB", group=core, component_name="Orders"),
        "mail": ServiceFactory(name="Mail", group=None),
    }


def test_the_url_name_is_the_one_the_navigation_links():
    assert reverse("statuspage:home") == HOME


@pytest.mark.parametrize("persona", ROLES, indirect=True)
def test_everyone_reads_the_status_page_and_a_public_maintenance(client, persona, catalog):
    window = make_window([catalog["db"]])
    if persona is not None:
        client.force_login(persona)
    assert client.get(HOME).status_code == 200
    assert client.get(reverse("statuspage:maintenance", args=[window.pk])).status_code == 200


def test_all_operational_page_shows_grouped_components_and_the_green_banner(client, catalog):
    html = page(client)
    assert "All Systems Operational" in html and "sp-indicator-none" in html
    assert html.index("Core") < html.index("Public API") < html.index("Mail")
    assert "Orders" in html and "Orders DB" not in html  # the public component name
    assert "Maintenance in progress" not in html and "Scheduled maintenance" not in html


def test_banner_names_degraded_components_with_the_statuspage_wording(client, catalog):
    service_set_status(service=catalog["api"], status=ComponentStatus.DEGRADED_PERFORMANCE)
    html = page(client)
    assert "Partially Degraded Service" in html and "sp-indicator-minor" in html
    assert "status-degraded_performance" in html and "Degraded performance" in html
    banner = html[html.index("sp-banner") : html.index("sp-components")]
    assert "Public API" in banner and "Mail" not in banner


def test_an_active_maintenance_is_shown_with_its_components_under_maintenance(client, catalog):
    window = make_window(
        [catalog["db"]],
        title="Database upgrade",
        description="We move to **PostgreSQL 17**.",
        start=timezone.now() - HOUR,
    )
    announce(window, "Planned for tonight.")
    move(window, WindowState.IN_PROGRESS, body="Work has *started*.")
    html = page(client)
    assert "Service Under Maintenance" in html and "sp-indicator-maintenance" in html
    active = html[html.index("Maintenance in progress") : html.index('id="sp-components"')]
    assert "Database upgrade" in active and "In progress" in active
    assert "<strong>PostgreSQL 17</strong>" in active  # Markdown rendered
    assert "Work has <em>started</em>" in active  # the latest public update
    assert "Planned for tonight." not in active
    assert "UTC" in active and "due to end in" in active
    assert reverse("statuspage:maintenance", args=[window.pk]) in active
    row = html[html.index(f'data-component="{catalog["db"].pk}"') :]
    assert row.index("Under maintenance") < row.index("</li>")


def test_scheduled_maintenance_shows_time_range_and_a_relative_hint(client, catalog):
    make_window([catalog["api"], catalog["mail"]], title="Mail relay swap", hours=3)
    html = page(client)
    upcoming = html[html.index("Scheduled maintenance") :]
    assert "Mail relay swap" in upcoming and "starts in" in upcoming
    assert "Public API" in upcoming and "Mail" in upcoming
    assert "All Systems Operational" in html


def test_a_maintenance_page_lists_all_its_public_updates_newest_first(client, catalog):
    window = make_window([catalog["db"]], title="Failover drill")
    announce(window, "First public word.")
    announce(window, "Internal musing.", visibility=Visibility.INTERNAL)
    move(window, WindowState.IN_PROGRESS, body="Second public word.")
    move(window, WindowState.COMPLETED, body="Third public word.")
    html = page(client, reverse("statuspage:maintenance", args=[window.pk]))
    assert "Failover drill" in html and "Completed" in html
    assert html.index("Third public word.") < html.index("Second") < html.index("First")
    assert "Internal musing." not in html


@pytest.mark.parametrize("kind", ["internal", "cancelled", "unknown"])
def test_internal_cancelled_and_unknown_windows_are_not_found(client, catalog, kind):
    window = make_window([catalog["db"]], public=kind != "internal")
    if kind == "cancelled":
        move(window, WindowState.CANCELLED)
    pk = window.pk + 1000 if kind == "unknown" else window.pk
    response = client.get(reverse("statuspage:maintenance", args=[pk]))
    assert response.status_code == 404


MARKER = "ZZ-INTERNAL-91c2"


def test_nothing_internal_reaches_the_html(client, catalog, commander):
    internal = make_window(
        [catalog["api"]],
        title=f"{MARKER} internal window",
        description=f"{MARKER}",
        public=False,
        start=timezone.now() - HOUR,
    )
    move(internal, WindowState.IN_PROGRESS, body=f"{MARKER} start")
    window = make_window(
        [catalog["db"]], title="Public one", rollback_plan=f"{MARKER} plan", owner=commander
    )
    window.checklist.create(phase="pre", title=f"{MARKER} item")
    announce(window, f"{MARKER} note", visibility=Visibility.INTERNAL)
    ServiceFactory(name=f"{MARKER} service", show_on_status_page=False)
    catalog["db"].description = f"{MARKER} description"
    catalog["db"].save()
    for url in (HOME, reverse("statuspage:maintenance", args=[window.pk])):
        html = page(client, url)
        assert MARKER not in html, url
        assert commander.username not in html
    # The internal window puts nothing under maintenance on the public page.
    assert "All Systems Operational" in page(client)


XSS = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


def test_titles_descriptions_updates_and_names_are_escaped_or_sanitized(client):
    group = ServiceGroupFactory(name=f"Group {XSS}")
    service = ServiceFactory(name="svc", component_name=f"Comp {XSS}", group=group)
    window = make_window(
        [service],
        title=f"Title {XSS}",
        description=f"Desc {XSS} [link](javascript:alert(3)) <a href='x' onclick='y'>a</a>",
        start=timezone.now() - HOUR,
    )
    move(window, WindowState.IN_PROGRESS, body=f"Update {XSS}")
    make_window([service], title=f"Later {XSS}", description=XSS)
    for url in (HOME, reverse("statuspage:maintenance", args=[window.pk])):
        html = page(client, url)
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "onerror=" not in html.replace("onerror=&quot;", "")
        assert "javascript:" not in html and "onclick" not in html
        assert "Title &lt;img" in html


def test_the_page_is_the_same_for_everyone_and_sets_no_cookie(client, viewer):
    anonymous = client.get(HOME)
    client.force_login(viewer)
    signed_in = client.get(HOME)
    assert anonymous.content == signed_in.content
    assert "Cookie" not in anonymous.get("Vary", "")
    assert not anonymous.cookies
    assert anonymous["Cache-Control"] == "public, max-age=10"
    assert "csrfmiddlewaretoken" not in anonymous.content.decode()


def test_post_to_the_page_is_refused(client):
    response = client.post(HOME)
    assert response.status_code == 405 and response["Allow"] == "GET, HEAD"


def test_the_page_changes_as_soon_as_a_window_starts(client, catalog):
    window = make_window([catalog["db"]], title="Swap disks", start=timezone.now() - HOUR)
    assert "Maintenance in progress" not in page(client)
    move(window, WindowState.IN_PROGRESS)
    assert "Maintenance in progress" in page(client)


@pytest.mark.parametrize("n", [1, 20])
def test_page_queries_do_not_grow_with_data(client, n, django_assert_max_num_queries):
    group = ServiceGroupFactory()
    services = [ServiceFactory(group=group if i % 2 else None) for i in range(n)]
    for i in range(n):
        window = make_window(services[i : i + 2], title=f"Window {i}")
        announce(window, "Planned.")
        if i % 2:
            move(window, WindowState.IN_PROGRESS)
    # components 2, incidents 3, maintenance 4, uptime 1, the page's configuration 1
    with django_assert_max_num_queries(11):
        page(client)
    with django_assert_max_num_queries(6):
        page(client, reverse("statuspage:maintenance", args=[window.pk]))


def test_relative_hints_read_naturally():
    now = timezone.now()
    assert relative(now + timedelta(seconds=20), now) == "just now"
    assert relative(now + 2 * HOUR, now) == "in 2\xa0hours"
    assert relative(now - timedelta(minutes=5), now) == "5\xa0minutes ago"
    assert relative(None, now) == ""
