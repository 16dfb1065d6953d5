"""Issue 9, item 8: a marker planted in every internal field reaches no public answer.

Each internal field gets its own marker (`ZZMARK-<field>`), so a leak names the field. The
fields are written the way the portal writes them (incident services for notes, updates and
edits; the maintenance log; the alert and diagnostics rows with the timeline events their
services append) around one public incident and one public window that the pages do show.
The test may import alerts and diagnostics; statuspage code may not (import-linter).
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts.models import Alert, AlertGroup
from alerts.services import integration_create
from catalog.models import TargetKind
from diagnostics.models import Diagnosis, ProbeRun, Purpose
from incidents.models import EventKind
from incidents.services import incident_update, timeline_append
from maintenance.models import WindowState
from ops_portal.timeline import Visibility
from tests.factories import ServiceFactory, ServiceGroupFactory, TargetFactory
from tests.statuspage.incident_support import declare, note, publish
from tests.statuspage.support import HOUR, announce, make_window, move
from tests.statuspage.v2_schema import ALL_V2_PATHS

pytestmark = pytest.mark.django_db

MARK = "ZZMARK"


def mark(field: str) -> str:
    return f"{MARK}-{field}"


@pytest.fixture
def planted(commander):
    """A public incident and window the page shows, and a marker in every internal field."""
    group = ServiceGroupFactory(name="Core")
    api = ServiceFactory(name="API", group=group, description=mark("service-description"))
    hidden = ServiceFactory(
        name=mark("internal-component-name"),
        component_name=mark("internal-component-public-name"),
        group=group,
        show_on_status_page=False,
    )

    # The public incident: internal title, impact summary, notes, edits, alerts, diagnostics.
    now = timezone.now() - HOUR
    incident = declare(
        title=mark("incident-title"),
        public_title="Checkout is slow",
        severity="P1",
        services=[api, hidden],
        impact_summary=mark("impact-summary"),
        now=now,
    )
    incident_update(incident=incident, by=commander, commander=commander)
    publish(incident, "We are investigating.", now=now, component_status="degraded_performance")
    note(incident, mark("internal-note"), now=now)
    incident_update(incident=incident, by=commander, symptom="slow_queries")

    integration = integration_create(kind="generic", name=mark("integration-name")).integration
    alert_group = AlertGroup.objects.create(
        integration=integration,
        dedup_key=mark("dedup-key"),
        title=mark("alert-group-title"),
        labels={"team": mark("alert-label")},
        annotations={"summary": mark("alert-annotation")},
        first_seen=now,
        last_seen=now,
        incident=incident,
        service=api,
    )
    Alert.objects.create(
        integration=integration,
        group=alert_group,
        action="trigger",
        summary=mark("alert-summary"),
        payload={"raw": mark("alert-payload")},
        received_at=now,
    )
    timeline_append(
        incident_id=incident.pk,
        kind=EventKind.ALERT,
        body=mark("alert-timeline-body"),
        data={"labels": {"x": mark("alert-timeline-data")}},
        now=now,
    )

    diagnosis = Diagnosis.objects.create(
        incident=incident,
        purpose=Purpose.RUNBOOK,
        title=mark("diagnosis-title"),
        trigger=mark("diagnosis-trigger"),
        summary=mark("diagnosis-summary"),
    )
    target = TargetFactory(service=api, name=mark("target-name"))
    ProbeRun.objects.create(
        diagnosis=diagnosis,
        probe="http.health",
        target=target,
        target_label=mark("probe-target-label"),
        target_kind=TargetKind.HTTP,
        timeout_s=5,
        status="critical",
        summary=mark("probe-summary"),
        result={"findings": [mark("probe-result")]},
        error=mark("probe-error"),
    )
    timeline_append(
        incident_id=incident.pk,
        kind=EventKind.PROBE_RESULT,
        body=mark("probe-timeline-body"),
        data={"summary": mark("probe-timeline-data")},
        now=now,
    )
    publish(incident, "Fix deployed, monitoring.", status="monitoring", now=now + HOUR / 2)

    # An incident that never got a public update: all of it is internal.
    quiet = declare(title=mark("unpublished-incident"), services=[api], now=now)
    note(quiet, mark("unpublished-note"), now=now)

    # A public window with internal parts, an internal window, a cancelled one.
    window = make_window(
        [api, hidden],
        title="Database upgrade",
        start=now,
        rollback_plan=mark("rollback-plan"),
        owner=commander,
    )
    window.checklist.create(phase="pre", title=mark("checklist-item"))
    announce(window, "We will upgrade the database.")
    announce(window, mark("internal-window-event"), visibility=Visibility.INTERNAL)
    move(window, WindowState.IN_PROGRESS, body="Upgrade started.", at=now)
    internal = make_window(
        [api],
        title=mark("internal-window-title"),
        description=mark("internal-window-description"),
        public=False,
        start=now,
    )
    announce(internal, mark("internal-window-public-looking-entry"))
    move(internal, WindowState.IN_PROGRESS, body=mark("internal-window-start"), at=now)
    cancelled = make_window([api], title=mark("cancelled-window"))
    announce(cancelled, mark("cancelled-window-entry"))
    move(cancelled, WindowState.CANCELLED, body=mark("cancelled-window-cancel"))
    return {
        "incident": incident,
        "quiet": quiet,
        "window": window,
        "internal": internal,
        "cancelled": cancelled,
        "commander": commander,
    }


def public_urls(planted) -> list[str]:
    month = timezone.now().strftime("%Y-%m")
    incident, quiet = planted["incident"], planted["quiet"]
    return [
        *ALL_V2_PATHS,
        "/status/",
        "/status/history/",
        f"/status/history/?month={month}",
        reverse("statuspage:incident", args=[incident.number]),
        reverse("statuspage:incident", args=[quiet.number]),
        reverse("statuspage:maintenance", args=[planted["window"].pk]),
        reverse("statuspage:maintenance", args=[planted["internal"].pk]),
        reverse("statuspage:maintenance", args=[planted["cancelled"].pk]),
        "/history.atom",
        "/history.rss",
    ]


def test_no_internal_field_reaches_any_public_answer(client, planted):
    commander = planted["commander"]
    shown = {}
    for url in public_urls(planted):
        response = client.get(url)
        text = response.content.decode()
        shown[url] = response.status_code
        assert MARK not in text, (url, text[text.find(MARK) : text.find(MARK) + 60])
        assert commander.username not in text and commander.email not in text, url
    # The test looks where it should: the public parts are there to be seen.
    incident_page = reverse("statuspage:incident", args=[planted["incident"].number])
    assert shown[incident_page] == 200
    assert shown[reverse("statuspage:incident", args=[planted["quiet"].number])] == 404
    assert shown[reverse("statuspage:maintenance", args=[planted["internal"].pk])] == 404
    home = client.get("/status/").content.decode()
    assert "Checkout is slow" in home and "Database upgrade" in home
    assert "Fix deployed, monitoring." in client.get("/history.atom").content.decode()
    summary = client.get("/api/v2/summary.json").json()
    [incident] = summary["incidents"]
    assert incident["name"] == "Checkout is slow"
    assert [c["name"] for c in incident["components"]] == ["API"]
    assert [a["name"] for a in incident["incident_updates"][-1]["affected_components"]] == ["API"]


def test_signed_in_staff_get_the_same_public_answers(client, planted, admin_user):
    """Public answers never depend on who asks (the 404s are the portal's own error page)."""
    anonymous = {}
    for url in public_urls(planted):
        response = client.get(url)
        if response.status_code == 200:
            anonymous[url] = response.content
    assert len(anonymous) == len(public_urls(planted)) - 3  # the three not-found pages
    client.force_login(admin_user)
    for url, body in anonymous.items():
        assert client.get(url).content == body, url
