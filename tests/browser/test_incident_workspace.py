"""The commander's workspace in Chromium: declare, acknowledge, note, public update, complete a
task, and watch events written by Celery tasks appear without a reload.

Two live setups (ARCHITECTURE.md §6):
* embedded (no cross-process channel layer): the page polls `?after=<seq>`;
* production-shaped (Redis channel layer, a real Celery worker process, the ASGI server):
  the websocket nudges the page.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
import uvicorn
from django.test import override_settings
from playwright.sync_api import expect

from accounts.permissions import Role
from incidents.models import Incident, IncidentTask, TimelineEvent
from incidents.services import incident_declare
from incidents.tasks import append_worker_note
from ops_portal.celery import app as celery_app
from tests.factories import PASSWORD, ServiceFactory
from tests.workers import celery_worker

pytestmark = pytest.mark.browser
LIVE_DEADLINE_MS = 2000


def test_commander_runs_an_incident_from_the_browser(page, make_user, login_as, screenshot):
    commander = make_user(Role.COMMANDER, username="casey")
    ServiceFactory(name="Checkout", slug="checkout")
    login_as(page, commander)

    page.goto("/incidents/")
    page.get_by_role("link", name="Declare incident").click()
    page.get_by_label("Title").fill("Checkout returns 503 for card payments")
    page.get_by_label("P1 · High").check()
    page.get_by_label("Checkout").check()
    page.get_by_label("Main symptom").select_option("service_unavailable")
    screenshot(page, "incident-declare")
    page.get_by_role("button", name="Declare incident").click()

    expect(page.locator("h1")).to_contain_text("INC-1")
    expect(page.locator(".incident-badges")).to_contain_text("Triggered")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(".incident-badges")).to_contain_text("Acknowledged")
    ack_task = page.locator(".task", has_text="Acknowledge the incident")
    expect(ack_task).to_have_class("task task-done")  # the move itself did it

    page.get_by_label("Internal note").fill("Pool to the **card processor** is exhausted.")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator(".event-note").last).to_contain_text("card processor")
    expect(page.locator(".event-note").last.locator(".visibility-internal")).to_be_visible()

    page.get_by_label("Status", exact=True).select_option("identified")
    page.get_by_label("Component status").select_option("partial_outage")
    page.get_by_label("Message to customers").fill(
        "Card payments fail for some customers; fix in progress."
    )
    page.get_by_role("button", name="Publish update").click()
    public = page.locator(".event-public_update").last
    expect(public).to_contain_text("Identified")
    expect(public.locator(".visibility-public")).to_be_visible()

    record_task = page.locator(".task", has_text="Open the incident record")
    record_task.get_by_role("button", name="Complete").click()
    expect(page.locator(".task", has_text="Open the incident record")).to_have_class(
        "task task-done"
    )
    screenshot(page, "incident-workspace")

    page.get_by_role("button", name="Investigate").click()
    page.get_by_role("button", name="Resolve").click()
    page.get_by_role("button", name="Close").click()
    expect(page.locator(".incident-badges")).to_contain_text("Closed")
    incident = Incident.objects.get()
    assert incident.status == "closed" and incident.resolved_at and incident.acknowledged_at
    page.goto("/incidents/?status=closed")
    expect(page.locator("table")).to_contain_text("INC-1")
    page.goto("/incidents/?all=1")
    expect(page.locator("table")).to_contain_text("INC-1")
    screenshot(page, "incident-list")


def test_viewer_sees_the_incident_but_cannot_act(page, make_user, login_as):
    commander = make_user(Role.COMMANDER, username="casey")
    viewer = make_user(Role.VIEWER, username="vic")
    incident = incident_declare(title="Search slow", severity="P2", by=commander)
    login_as(page, viewer)
    page.goto(f"/incidents/{incident.number}/")
    expect(page.locator("h1")).to_contain_text("Search slow")
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    expect(page.locator("#compose-note")).to_have_count(0)


@override_settings(REDIS_URL="")
def test_embedded_setup_polls_and_shows_a_worker_event_within_2s(
    page, make_user, login_as, screenshot
):
    """No cross-process channel layer: the page polls `?after=<seq>` every second."""
    commander = make_user(Role.COMMANDER, username="casey")
    incident = incident_declare(title="Orders stuck", severity="P1", by=commander)
    login_as(page, commander)
    page.goto(f"/incidents/{incident.number}/")
    expect(page.locator("#timeline")).to_have_attribute("data-poll", "1")
    page.wait_for_timeout(300)

    # The Celery task's own code, run as the worker runs it.
    append_worker_note.apply(args=[incident.pk, "Consumer lag on orders.created: 48,000"])
    written = time.monotonic()
    expect(page.locator("#timeline")).to_contain_text("48,000", timeout=LIVE_DEADLINE_MS)
    elapsed = time.monotonic() - written
    print(f"poll setup: worker event visible after {elapsed:.2f} s")
    assert elapsed <= LIVE_DEADLINE_MS / 1000  # one poll period (1 s) plus the fetch
    screenshot(page, "incident-live-poll")


# --- production-shaped: ASGI server + Redis channel layer + a real worker ---------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def asgi_server():
    """The ASGI app (HTTP and websockets) in a thread, against the test database."""
    port = _free_port()
    config = uvicorn.Config(
        "ops_portal.asgi:application",
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "ASGI server did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def celery_worker_process():
    with celery_worker("browser") as worker:
        yield worker.queue


@pytest.mark.postgres
@pytest.mark.redis
def test_websocket_setup_shows_an_event_from_a_real_worker_within_2s(
    browser, make_user, asgi_server, celery_worker_process, screenshot
):
    commander = make_user(Role.COMMANDER, username="casey")
    incident = incident_declare(title="Payments timing out", severity="P0", by=commander)
    context = browser.new_context(base_url=asgi_server, viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.goto("/login/")
    page.get_by_label("Username").fill(commander.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/incidents/{incident.number}/")
    expect(page.locator("#timeline")).to_have_attribute("data-poll", "0")
    expect(page.locator("#live-indicator")).to_have_text("live", timeout=10_000)

    celery_app.send_task(
        "incidents.append_worker_note",
        args=[incident.pk, "pg_stat_activity: 212 idle in transaction"],
        queue=celery_worker_process,
    )
    deadline = time.monotonic() + 60
    while not TimelineEvent.objects.filter(incident=incident, body__contains="212 idle").exists():
        assert time.monotonic() < deadline, "the worker never wrote the event"
        time.sleep(0.05)
    written = time.monotonic()
    expect(page.locator("#timeline")).to_contain_text("212 idle", timeout=LIVE_DEADLINE_MS)
    print(f"websocket setup: worker event visible {time.monotonic() - written:.2f} s after commit")
    screenshot(page, "incident-live-websocket")
    context.close()
    assert IncidentTask.objects.filter(incident=incident).exists()
