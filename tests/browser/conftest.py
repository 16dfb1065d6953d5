"""Browser tests: headless Debian Chromium driven by Playwright against pytest-django's live server.

What this conftest provides to every test under tests/browser/:

* Chromium at /usr/bin/chromium (never `playwright install`), headless, with the flags of
  ../shared/reference/test-peers.md.
* The live server as the base URL of every browser context, so `page.goto("/services/")` works.
  `live_server` implies `transactional_db`: the tables are flushed after each test, so the
  `role_groups` fixture (autouse) recreates the role groups and their permissions first.
* `login_as(page, user)`: signs in through the real login form.
* `screenshot(page, name)`: a full-page PNG under tests/screenshots/ (gitignored).

Playwright's sync API keeps an asyncio loop running in the test thread from start to stop.
Two consequences, both confined to this package:

* Django's ORM refuses to run "from async code" while that loop runs, so
  DJANGO_ALLOW_ASYNC_UNSAFE=true is set for this package only (and restored afterwards).
* `async_to_sync` refuses to run in a thread with a running loop, which would break the
  websocket/ASGI tests that run after this package in the same session. So Playwright and the
  browser are package-scoped here (pytest-playwright makes them session-scoped): they stop once
  the browser tests are done.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserType, Page, Playwright, expect, sync_playwright

from accounts.services import role_groups_sync
from tests.factories import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
SCREENSHOT_DIR = Path(__file__).resolve().parent.parent / "screenshots"
DESKTOP_VIEWPORT = {"width": 1366, "height": 900}


def pytest_collection_modifyitems(config, items):
    """Without Chromium these tests skip locally; with REQUIRE_SERVICES=1 (CI) they run and fail."""
    if Path(CHROMIUM).exists() or os.environ.get("REQUIRE_SERVICES") == "1":
        return
    skip = pytest.mark.skip(reason=f"browser tests need Chromium at {CHROMIUM}")
    here = Path(__file__).resolve().parent
    for item in items:
        if here in item.path.resolve().parents:
            item.add_marker(skip)


# --- Playwright, scoped to this package --------------------------------------------------------


@pytest.fixture(scope="package", autouse=True)
def _allow_orm_under_playwright_loop() -> Iterator[None]:
    """Let the ORM run while Playwright's loop runs; set first and removed last in this package."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="package")
def playwright(_allow_orm_under_playwright_loop) -> Iterator[Playwright]:
    """Overrides pytest-playwright's session fixture: stopped when this package is done."""
    pw = sync_playwright().start()
    yield pw
    pw.stop()


@pytest.fixture(scope="package")
def browser_type(playwright: Playwright, browser_name: str | None) -> BrowserType:
    return getattr(playwright, browser_name or "chromium")


@pytest.fixture(scope="package")
def launch_browser(
    browser_type_launch_args: dict, browser_type: BrowserType
) -> Callable[..., Browser]:
    def launch(**kwargs) -> Browser:
        return browser_type.launch(**{**browser_type_launch_args, **kwargs})

    return launch


@pytest.fixture(scope="package")
def browser(launch_browser: Callable[..., Browser]) -> Iterator[Browser]:
    browser = launch_browser()
    yield browser
    browser.close()


@pytest.fixture(scope="package")
def browser_context_args(pytestconfig, playwright: Playwright, device, live_server) -> dict:
    """Every context talks to the live server; a desktop viewport unless --device says otherwise."""
    args: dict = {"base_url": live_server.url, "viewport": DESKTOP_VIEWPORT, "locale": "en-US"}
    if device:
        args.update(playwright.devices[device])
    return args


# --- Data and helpers --------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def role_groups(transactional_db):
    """The role groups and their permissions: flushed after every test with the live server."""
    return role_groups_sync()


@pytest.fixture
def login_as(live_server) -> Callable[..., Page]:
    """`login_as(page, user)` signs in through the login form and returns the page.

    Lands where the portal sends a signed-in user (or `next_url`). `password` defaults to the
    factories' PASSWORD.
    """

    def sign_in(page: Page, user, *, password: str = PASSWORD, next_url: str = "") -> Page:
        url = f"{live_server.url}/login/"
        if next_url:
            url += f"?next={next_url}"
        page.goto(url)
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        expect(page).not_to_have_url(re.compile(r"/login/"))
        return page

    return sign_in


@pytest.fixture
def screenshot() -> Callable[..., Path]:
    """`screenshot(page, name)` saves tests/screenshots/<name>.png (full page) and returns it."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)

    def take(page: Page, name: str, *, full_page: bool = True) -> Path:
        path = SCREENSHOT_DIR / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page, animations="disabled")
        return path

    return take


@pytest.fixture
def open_page(new_context) -> Callable[..., Page]:
    """`open_page(**context_args)`: a page in a fresh context, e.g. `java_script_enabled=False`.

    The arguments add to `browser_context_args` and must not repeat its keys (base_url,
    viewport, locale): for another viewport or device, mark the test
    `@pytest.mark.browser_context_args(viewport=...)` and use `page`.
    """

    def open_in_new_context(**context_args) -> Page:
        return new_context(**context_args).new_page()

    return open_in_new_context
