"""The foundation pages as people use them: sign in, the service overview, a service, tokens.

Each test is one user's story in headless Chromium against the live server; the interesting
states are saved as screenshots under tests/screenshots/.
"""

from __future__ import annotations

import re

import pytest
from django.urls import NoReverseMatch, reverse
from playwright.sync_api import Page, expect

from accounts.models import ApiToken
from accounts.permissions import ROLE_PERMS, Role
from catalog.models import ComponentStatus, TargetKind
from ops_portal.navigation import NAV_ITEMS
from tests.factories import PASSWORD, ServiceFactory, ServiceGroupFactory, TargetFactory

pytestmark = pytest.mark.browser

BAD_LOGIN = "Please enter a correct username and password"


@pytest.fixture
def catalog():
    """A small catalog with every status, in two groups plus one ungrouped service."""
    customer = ServiceGroupFactory(name="Customer-facing", slug="customer-facing", position=1)
    platform = ServiceGroupFactory(name="Platform", slug="platform", position=2)
    services = {
        "checkout": ServiceFactory(
            name="Checkout API",
            slug="checkout-api",
            group=customer,
            status=ComponentStatus.MAJOR_OUTAGE,
            description="Carts, payment authorisation and order placement.",
        ),
        "search": ServiceFactory(
            name="Search",
            slug="search",
            group=customer,
            status=ComponentStatus.DEGRADED_PERFORMANCE,
            component_name="Product search",
        ),
        "web": ServiceFactory(name="Storefront", slug="storefront", group=customer),
        "db": ServiceFactory(
            name="Orders database",
            slug="orders-db",
            group=platform,
            status=ComponentStatus.PARTIAL_OUTAGE,
        ),
        "kafka": ServiceFactory(
            name="Event bus",
            slug="event-bus",
            group=platform,
            status=ComponentStatus.UNDER_MAINTENANCE,
            show_on_status_page=False,
        ),
        "batch": ServiceFactory(name="Nightly reports", slug="nightly-reports", group=None),
    }
    TargetFactory(service=services["checkout"], name="checkout-health")
    TargetFactory(
        service=services["checkout"],
        name="checkout-db",
        kind=TargetKind.POSTGRES,
        config={"dsn_env": "CHECKOUT_DB_DSN", "connect_timeout_s": 5},
    )
    TargetFactory(
        service=services["checkout"],
        name="checkout-pods",
        kind=TargetKind.KUBERNETES,
        config={"namespace": "shop", "deployment": "checkout-api", "connection": "in_cluster"},
        enabled=False,
    )
    return services


def _rgb(css: str) -> tuple[float, ...]:
    return tuple(float(part) for part in re.findall(r"[\d.]+", css)[:3])


def _contrast(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two computed `rgb(...)` colours."""

    def luminance(rgb):
        channels = [c / 255 for c in rgb]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(_rgb(foreground)), luminance(_rgb(background))), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _assert_readable(locator) -> None:
    colours = locator.evaluate(
        "el => [getComputedStyle(el).color, getComputedStyle(el).backgroundColor]"
    )
    assert _contrast(*colours) >= 4.5, f"{locator} has low contrast: {colours}"


def _assert_fits_horizontally(page: Page) -> None:
    """Neither the page nor a card's content (cards clip what sticks out) is wider than it."""
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    ), "the page scrolls sideways"
    clipped = page.evaluate(
        """[...document.querySelectorAll('.card, .facts')]
            .filter(el => el.scrollWidth > el.clientWidth + 1)
            .map(el => el.querySelector('h2')?.textContent || el.className)"""
    )
    assert clipped == [], f"content wider than its card: {clipped}"


def _service_row(page: Page, name: str):
    return page.locator("#service-sections tbody tr").filter(
        has=page.get_by_role("link", name=name, exact=True)
    )


def test_commander_signs_in_from_the_front_door_and_sees_services_grouped_by_status(
    page: Page, live_server, commander, catalog, screenshot
):
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/login/"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot(page, "login")

    page.get_by_label("Username").fill(commander.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(f"{live_server.url}/services/")
    expect(page.get_by_role("heading", name="Services", level=1)).to_be_visible()
    expect(page.get_by_text("6 services", exact=False)).to_be_visible()

    customer = page.get_by_role("region", name="Customer-facing")
    platform = page.get_by_role("region", name="Platform")
    ungrouped = page.get_by_role("region", name="Ungrouped")
    expect(customer.get_by_role("link")).to_have_text(["Checkout API", "Search", "Storefront"])
    expect(platform.get_by_role("link")).to_have_text(["Event bus", "Orders database"])
    expect(ungrouped.get_by_role("link")).to_have_text(["Nightly reports"])

    expected_badges = {
        "Checkout API": "Major outage",
        "Search": "Degraded performance",
        "Storefront": "Operational",
        "Orders database": "Partial outage",
        "Event bus": "Under maintenance",
    }
    for service, label in expected_badges.items():
        badge = _service_row(page, service).locator(".status")
        expect(badge).to_be_visible()
        expect(badge).to_have_text(label)
        _assert_readable(badge)

    summary = page.get_by_role("list", name="Services by status")
    expect(
        summary.get_by_role("link", name=re.compile(r"^1\s*Major outage$", re.I))
    ).to_be_visible()
    expect(summary.get_by_role("link", name=re.compile(r"^2\s*Operational$", re.I))).to_be_visible()
    screenshot(page, "services")


def test_filtering_by_status_swaps_the_list_in_place_and_keeps_the_url(
    page: Page, live_server, viewer, catalog, login_as
):
    login_as(page, viewer)
    page.evaluate("window.stillTheSamePage = true")

    page.get_by_label("Status", exact=True).select_option(label="Major outage")

    expect(page).to_have_url(re.compile(r"/services/\?.*status=major_outage"))
    expect(page.locator("#service-sections table").get_by_role("link")).to_have_text(
        ["Checkout API"]
    )
    expect(page.locator(".result-count")).to_contain_text("1 service match")
    expect(page.locator("#status-tiles .is-selected")).to_contain_text("Major outage")
    assert page.evaluate("window.stillTheSamePage") is True  # htmx swapped, no full reload

    page.get_by_label("Search").press_sequentially("nothing-like-this")
    expect(page.get_by_role("heading", name="No services match")).to_be_visible()

    page.reload()  # the pushed URL is a real page
    expect(page.get_by_label("Status", exact=True)).to_have_value("major_outage")
    expect(page.get_by_role("heading", name="No services match")).to_be_visible()


def test_filtering_by_status_works_without_javascript(
    open_page, live_server, viewer, catalog, login_as, screenshot
):
    page = open_page(java_script_enabled=False)
    login_as(page, viewer)

    page.get_by_label("Status", exact=True).select_option("partial_outage")
    page.get_by_role("button", name="Filter").click()

    expect(page).to_have_url(re.compile(r"status=partial_outage"))
    expect(page.locator("#service-sections table").get_by_role("link")).to_have_text(
        ["Orders database"]
    )
    screenshot(page, "services-filtered-no-js")

    page.get_by_role("link", name="Clear").click()
    expect(page).to_have_url(f"{live_server.url}/services/")
    expect(page.locator("#service-sections tbody tr")).to_have_count(6)

    page.get_by_role("list", name="Services by status").get_by_role(
        "link", name=re.compile("Under maintenance", re.I)
    ).click()
    expect(page.locator("#service-sections table").get_by_role("link")).to_have_text(["Event bus"])


def test_opening_a_service_shows_its_diagnostic_targets(
    page: Page, live_server, responder, catalog, login_as, screenshot
):
    login_as(page, responder)
    page.get_by_role("link", name="Checkout API", exact=True).click()

    expect(page).to_have_url(f"{live_server.url}/services/checkout-api/")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("Checkout API")
    expect(heading.locator(".status")).to_have_text("Major outage")
    expect(page.get_by_text("Carts, payment authorisation and order placement.")).to_be_visible()

    targets = page.locator("section", has=page.get_by_role("heading", name="Diagnostic targets"))
    rows = targets.locator("tbody tr")
    expect(rows).to_have_count(3)
    health = rows.filter(has_text="checkout-health")
    expect(health).to_contain_text("HTTP")
    expect(health).to_contain_text("https://example.com/health")
    expect(rows.filter(has_text="checkout-db")).to_contain_text("CHECKOUT_DB_DSN")
    expect(rows.filter(has_text="checkout-pods").locator(".pill")).to_have_text("no")
    screenshot(page, "service-detail")

    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Services").click()
    expect(page).to_have_url(f"{live_server.url}/services/")


def test_viewer_creates_a_token_sees_it_once_and_revokes_it(
    page: Page, live_server, viewer, playwright, login_as, screenshot
):
    login_as(page, viewer)
    page.get_by_role("link", name=viewer.display_name).click()
    expect(page).to_have_url(f"{live_server.url}/account/")
    expect(page.get_by_text("No tokens yet.")).to_be_visible()

    page.get_by_label("Name", exact=True).fill("grafana")
    page.get_by_role("button", name="Create token").click()

    new_token = page.locator("#new-token")
    expect(new_token).to_be_visible()
    raw = new_token.inner_text().strip()
    assert raw.startswith("opt_")
    screenshot(page, "account-token-created")

    api = playwright.request.new_context(base_url=live_server.url)
    try:
        bearer = {"Authorization": f"Bearer {raw}"}
        assert api.get("/api/v1/me/", headers=bearer).status == 200

        page.goto(f"{live_server.url}/account/")  # come back later: the secret is gone
        expect(page.locator("#new-token")).to_have_count(0)
        assert raw not in page.content()
        row = page.locator("tbody tr", has_text="grafana")
        expect(row).to_contain_text(raw[:12])
        expect(row.locator(".pill")).to_have_text("active")

        row.get_by_role("button", name="Revoke").click()
        expect(page.get_by_role("status")).to_contain_text("Token “grafana” revoked.")
        expect(row.locator(".pill")).to_have_text("revoked")
        expect(row.get_by_role("button", name="Revoke")).to_have_count(0)
        assert ApiToken.objects.get(user=viewer).revoked_at is not None
        assert api.get("/api/v1/me/", headers=bearer).status == 401
    finally:
        api.dispose()
    screenshot(page, "account-token-revoked")


def test_wrong_password_shows_an_error_and_stays_on_the_login_page(
    page: Page, live_server, viewer, screenshot
):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(viewer.username)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_contain_text(BAD_LOGIN)
    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_label("Username")).to_have_value(viewer.username)
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    screenshot(page, "login-error")

    page.goto(f"{live_server.url}/services/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/services/"))


def _nav_expected_for(role: Role) -> list[tuple[str, str]]:
    expected = []
    for item in NAV_ITEMS:
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        if item.perm is None or item.perm in ROLE_PERMS[role]:
            expected.append((item.label, url))
    return expected


@pytest.mark.parametrize("role", list(Role))
def test_navigation_links_only_to_pages_that_exist_and_admin_only_for_admins(
    page: Page, live_server, make_user, login_as, role
):
    user = make_user(role, username=f"nav-{role}")
    login_as(page, user)

    expected = _nav_expected_for(role)
    assert ("Services", reverse("catalog:service-list")) in expected
    nav = page.get_by_role("navigation", name="Main")
    links = nav.get_by_role("link")
    expect(links).to_have_text([label for label, _ in expected])
    for index, (_, url) in enumerate(expected):
        expect(links.nth(index)).to_have_attribute("href", url)
        assert page.request.get(f"{live_server.url}{url}").ok, f"nav links to a broken {url}"

    try:
        status_page_url = reverse("statuspage:home")
    except NoReverseMatch:
        expect(nav.get_by_role("link", name="Status page")).to_have_count(0)
    else:
        expect(nav.get_by_role("link", name="Status page")).to_have_attribute(
            "href", status_page_url
        )
    expect(nav.get_by_role("link", name="Services")).to_have_attribute("aria-current", "page")

    admin_link = page.locator(".usermenu").get_by_role("link", name="Admin")
    if role == Role.ADMIN:
        admin_link.click()
        expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    else:
        expect(admin_link).to_have_count(0)
        assert page.request.get(f"{live_server.url}/admin/").url.endswith(
            "/admin/login/?next=/admin/"
        )


@pytest.mark.browser_context_args(
    viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
)
def test_services_page_fits_a_phone(page: Page, viewer, catalog, login_as, screenshot):
    login_as(page, viewer)

    badge = _service_row(page, "Checkout API").locator(".status")
    expect(badge).to_have_text("Major outage")
    badge.scroll_into_view_if_needed()
    expect(badge).to_be_in_viewport(ratio=1)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Services")).to_be_in_viewport(ratio=1)
    _assert_fits_horizontally(page)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "services-mobile")

    page.get_by_role("link", name="Checkout API", exact=True).click()
    expect(page.get_by_role("heading", name="Diagnostic targets")).to_be_visible()
    expect(page.get_by_text("https://example.com/health")).to_be_visible()
    screenshot(page, "service-detail-mobile")
    _assert_fits_horizontally(page)

    page.get_by_role("link", name=viewer.display_name).click()
    page.get_by_label("Name", exact=True).fill("phone")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#new-token")).to_be_visible()
    screenshot(page, "account-mobile")
    _assert_fits_horizontally(page)


def test_services_page_in_dark_mode_keeps_status_badges_readable(
    page: Page, viewer, catalog, login_as, screenshot
):
    page.emulate_media(color_scheme="dark")
    login_as(page, viewer)

    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert sum(_rgb(background)) < 100, f"not a dark background: {background}"
    for status in ComponentStatus.values:
        for badge in page.locator(f"#service-sections .status-{status}").all():
            _assert_readable(badge)
    _assert_readable(page.get_by_role("link", name="Checkout API", exact=True))
    screenshot(page, "services-dark")

    page.get_by_role("link", name="Checkout API", exact=True).click()
    expect(page.get_by_role("heading", name="Diagnostic targets")).to_be_visible()
    screenshot(page, "service-detail-dark")
