"""/alerts/: the group list and a group's page, their actions by role, filters, pagination,
untrusted content and query counts."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from alerts.models import AlertGroup, GroupStatus
from incidents.models import EventKind, Incident, Status
from incidents.services import incident_declare, incident_transition
from tests.alerts.payloads import am_alert, am_payload, generic_alert
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "viewer", "responder", "commander", "admin"]
READ = dict(anonymous=302, viewer=200, responder=200, commander=200, admin=200)


def _message(response) -> str:
    """The message this response queued (earlier, unshown ones are still in the storage)."""
    return [str(message) for message in get_messages(response.wsgi_request)][-1]


def _as(client, persona):
    if persona is not None:
        client.force_login(persona)
    return client


PAGES = {
    "list": lambda g: reverse("alerts:list"),
    "detail": lambda g: reverse("alerts:detail", args=[g.pk]),
}


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("persona", ROLES, indirect=True)
def test_group_pages_by_role(client, persona, group, name, request):
    role = request.node.callspec.params["persona"]
    response = _as(client, persona).get(PAGES[name](group))
    assert response.status_code == READ[role]
    if role == "anonymous":
        assert response["Location"].startswith(reverse("login"))


ACTIONS = {
    "acknowledge": ({}, dict(anonymous=302, viewer=403, responder=302, commander=302, admin=302)),
    "resolve": ({}, dict(anonymous=302, viewer=403, responder=302, commander=302, admin=302)),
    "link": (
        {"incident": "INCIDENT"},
        dict(anonymous=302, viewer=403, responder=403, commander=302, admin=302),
    ),
}


@pytest.mark.parametrize("name", ACTIONS)
@pytest.mark.parametrize("persona", ROLES, indirect=True)
def test_group_actions_by_role(client, persona, group, name, request):
    data, expected = ACTIONS[name]
    if data.get("incident") == "INCIDENT":
        data = {"incident": group.incident_id}
    role = request.node.callspec.params["persona"]
    response = _as(client, persona).post(reverse(f"alerts:{name}", args=[group.pk]), data)
    assert response.status_code == expected[role]
    if role == "anonymous":
        assert response["Location"].startswith(reverse("login"))
    elif expected[role] == 302:
        assert response["Location"] == reverse("alerts:detail", args=[group.pk])


@pytest.mark.parametrize("name", ACTIONS)
def test_actions_are_post_only(client, commander, group, name):
    client.force_login(commander)
    assert client.get(reverse(f"alerts:{name}", args=[group.pk])).status_code == 405


def test_unknown_group_is_404(client, viewer):
    client.force_login(viewer)
    assert client.get(reverse("alerts:detail", args=[999])).status_code == 404


# --- The list ---------------------------------------------------------------------------------


def test_list_shows_a_row_per_group_with_its_routing_and_incident(client, viewer, group):
    client.force_login(viewer)
    html = client.get(reverse("alerts:list")).content.decode()
    assert "checkout HighErrorRate" in html
    assert "Prometheus prod" in html and ">checkout</span>" in html
    assert 'class="sev sev-p1"' in html and "gstatus-firing" in html
    assert f'href="{reverse("incidents:detail", args=[group.incident.number])}"' in html
    assert group.incident.ref in html
    assert f'href="{reverse("alerts:detail", args=[group.pk])}"' in html
    assert "ago</time>" in html  # first/last seen as durations


@pytest.fixture
def mixed(fire_generic, checkout, send, prom):
    """Groups in every status, two services, several severities, two integrations."""
    search = ServiceFactory(slug="search", name="Search")
    firing = fire_generic("pay-5xx", title="Payments 5xx", severity="critical", service="checkout")
    acked = fire_generic("search-slow", title="Search slow", severity="warning", service="search")
    AlertGroup.objects.filter(pk=acked.pk).update(status=GroupStatus.ACKNOWLEDGED)
    resolved = fire_generic("disk-db1", title="Disk full db-1", severity="error")
    fire_generic("disk-db1", status="resolved")
    send(prom, am_payload(am_alert("QueueBacklog", service="search", severity="warning")))
    prom_group = AlertGroup.objects.get(integration=prom)
    return {
        "firing": firing,
        "acked": acked,
        "resolved": AlertGroup.objects.get(pk=resolved.pk),
        "prom": prom_group,
        "search": search,
    }


def _titles(client, **params) -> str:
    return client.get(reverse("alerts:list"), params).content.decode()


def test_list_defaults_to_open_groups_and_filters_by_status(client, viewer, mixed):
    assert mixed["resolved"].status == GroupStatus.RESOLVED
    client.force_login(viewer)
    default = _titles(client)
    assert "Payments 5xx" in default and "Search slow" in default
    assert "Disk full db-1" not in default
    assert "Disk full db-1" in _titles(client, status="resolved")
    assert "Payments 5xx" not in _titles(client, status="resolved")
    firing = _titles(client, status="firing")
    assert "Payments 5xx" in firing and "Search slow" not in firing
    acknowledged = _titles(client, status="acknowledged")
    assert "Search slow" in acknowledged and "Payments 5xx" not in acknowledged
    everything = _titles(client, status="all")
    assert all(t in everything for t in ("Payments 5xx", "Search slow", "Disk full db-1"))


def test_list_filters_by_integration_service_severity_and_text(client, viewer, mixed, prom):
    client.force_login(viewer)
    only_prom = _titles(client, integration=prom.pk)
    assert "search QueueBacklog" in only_prom and "Payments 5xx" not in only_prom
    on_search = _titles(client, service="search")
    assert "Search slow" in on_search and "search QueueBacklog" in on_search
    assert "Payments 5xx" not in on_search
    p1 = _titles(client, severity="P1")
    assert "Payments 5xx" in p1 and "Search slow" not in p1
    by_title = _titles(client, q="payments")
    assert "Payments 5xx" in by_title and "Search slow" not in by_title
    by_key = _titles(client, q="search-sl", status="all")
    assert "Search slow" in by_key and "Payments 5xx" not in by_key


def test_list_filters_by_incident(client, viewer, mixed):
    client.force_login(viewer)
    incident = mixed["firing"].incident
    html = _titles(client, incident=incident.number, status="all")
    assert "Payments 5xx" in html and "Search slow" not in html
    assert f"linked to {incident.ref}" in html


def test_empty_filter_values_mean_any(client, viewer, mixed):
    client.force_login(viewer)
    html = _titles(client, status="", integration="", service="", severity="", q="")
    assert "form-errors" not in html and "Payments 5xx" in html


def test_invalid_filter_values_are_reported_not_a_500(client, viewer, mixed):
    client.force_login(viewer)
    response = client.get(reverse("alerts:list"), {"status": "exploded", "integration": "x"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "form-errors" in html and "Payments 5xx" not in html


@pytest.mark.parametrize("name", ["integration", "incident"])
def test_huge_ids_in_filters_are_errors_not_a_500(client, viewer, mixed, name):
    """SQLite raises OverflowError for integers beyond 64 bits instead of matching nothing."""
    client.force_login(viewer)
    response = client.get(reverse("alerts:list"), {name: "9" * 30})
    assert response.status_code == 200 and "form-errors" in response.content.decode()


def test_htmx_request_gets_only_the_results(client, viewer, mixed):
    client.force_login(viewer)
    response = client.get(reverse("alerts:list"), {"q": "payments"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "Payments 5xx" in html and "<html" not in html and 'id="f-status"' not in html
    assert "HX-Request" in response["Vary"]
    restore = client.get(
        reverse("alerts:list"),
        HTTP_HX_REQUEST="true",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    )
    assert "<html" in restore.content.decode()  # the back button needs the whole page


def test_list_is_paginated_by_50(client, viewer, send, hooks):
    send(
        hooks,
        {"alerts": [generic_alert(f"k-{n:03d}", title=f"Alert {n:03d}") for n in range(55)]},
    )
    client.force_login(viewer)
    first = client.get(reverse("alerts:list"), {"q": "Alert"}).content.decode()
    assert first.count('class="group-row') == 50
    assert "Page 1 of 2" in first and "q=Alert&amp;page=2" in first
    second = client.get(reverse("alerts:list"), {"q": "Alert", "page": 2}).content.decode()
    assert second.count('class="group-row') == 5
    assert client.get(reverse("alerts:list"), {"page": "999"}).status_code == 200


def _many_groups(send, integrations, count, services):
    for integration_index, integration in enumerate(integrations):
        alerts = [
            generic_alert(
                f"g{integration_index}-{n}",
                title=f"Group {integration_index}-{n}",
                severity=("critical", "error", "warning")[n % 3],
                service=services[n % len(services)].slug,
            )
            for n in range(count)
        ]
        send(integration, {"alerts": alerts})


def test_list_query_count_does_not_grow_with_groups(
    client, viewer, send, make_integration, django_assert_max_num_queries
):
    services = [ServiceFactory() for _ in range(4)]
    one = make_integration("generic", name="one")
    two = make_integration("generic", name="two")
    _many_groups(send, [one], 3, services)
    client.force_login(viewer)
    with django_assert_max_num_queries(20) as small:
        client.get(reverse("alerts:list"), {"status": "all"})
    # Read now: the ingestion requests below reset the connection's query log.
    baseline = len(small.captured_queries)
    _many_groups(send, [one, two], 40, services)
    assert AlertGroup.objects.count() >= 40
    assert AlertGroup.objects.filter(incident__isnull=False).exists()
    with django_assert_max_num_queries(baseline):
        html = client.get(reverse("alerts:list"), {"status": "all"}).content.decode()
    assert html.count('class="group-row') == 50


# --- A group's page ---------------------------------------------------------------------------


def test_group_page_shows_header_tables_routing_incident_and_alerts(client, viewer, group):
    client.force_login(viewer)
    html = client.get(reverse("alerts:detail", args=[group.pk])).content.decode()
    assert "<h1" in html and "checkout HighErrorRate" in html
    assert ">alertname</th><td>HighErrorRate</td>" in html  # labels table
    assert ">summary</th><td>checkout HighErrorRate</td>" in html  # annotations table
    assert "Open an incident" in html and "no rule matched" in html  # routing outcome
    assert group.incident.ref in html
    assert "Raw delivery #" in html and "&quot;receiver&quot;: &quot;portal&quot;" in html
    assert "&quot;fingerprint&quot;" in html  # the stored alert payload
    assert "<details" in html


def test_group_page_lists_the_latest_100_alerts_newest_first(
    client, viewer, send, hooks, django_assert_max_num_queries
):
    send(hooks, generic_alert("flappy", id="e0", title="Flappy 0"))
    client.force_login(viewer)
    group = AlertGroup.objects.get()
    url = reverse("alerts:detail", args=[group.pk])
    with django_assert_max_num_queries(20) as small:
        client.get(url)
    baseline = len(small.captured_queries)  # before the requests below reset the query log
    # One delivery carrying 110 events, then a last one on its own.
    send(
        hooks,
        {
            "alerts": [
                generic_alert("flappy", id=f"e{n}", title=f"Flappy {n}") for n in range(1, 110)
            ]
        },
    )
    send(hooks, generic_alert("flappy", id="e110", title="Flappy newest"))
    with django_assert_max_num_queries(baseline):
        html = client.get(url).content.decode()
    assert "latest 100 of 111" in html
    assert html.count('class="alert-event alert-') == 100
    assert html.index("Flappy newest") < html.index("Flappy 109") < html.index("Flappy 20")
    assert "Flappy 0<" not in html  # the oldest fall off
    # The big delivery's body is shown once; the other rows point at it.
    assert html.count("Raw delivery #") == 2
    assert "shown with a newer alert above" in html


def test_viewer_sees_no_action_buttons(client, viewer, group):
    client.force_login(viewer)
    html = client.get(reverse("alerts:detail", args=[group.pk])).content.decode()
    assert "data-action" not in html and "csrfmiddlewaretoken" not in html.split("<main")[1]


def test_responder_can_acknowledge_and_resolve_but_not_link(client, responder, group):
    client.force_login(responder)
    html = client.get(reverse("alerts:detail", args=[group.pk])).content.decode()
    assert 'data-action="acknowledge"' in html and 'data-action="resolve"' in html
    assert 'data-action="link"' not in html


def test_commander_sees_the_link_form_with_open_incidents_only(client, commander, group):
    old = incident_declare(title="Long gone", severity="P3", by=commander)
    for to in ["acknowledged", "resolved", "closed"]:
        old = incident_transition(incident=old, to=to, by=commander)
    client.force_login(commander)
    html = client.get(reverse("alerts:detail", args=[group.pk])).content.decode()
    assert 'data-action="link"' in html
    assert group.incident.ref in html.split('data-action="link"')[1]
    assert "Long gone" not in html


def test_acknowledge_then_resolve_from_the_page(client, responder, group):
    client.force_login(responder)
    url = reverse("alerts:detail", args=[group.pk])
    response = client.post(reverse("alerts:acknowledge", args=[group.pk]), follow=True)
    assert "Alert group acknowledged." in response.content.decode()
    group.refresh_from_db()
    assert group.status == GroupStatus.ACKNOWLEDGED and group.acknowledged_by == responder
    assert Incident.objects.get(pk=group.incident_id).status == Status.ACKNOWLEDGED
    html = client.get(url).content.decode()
    assert 'data-action="acknowledge"' not in html and 'data-action="resolve"' in html
    assert f"by {responder.display_name}" in html

    response = client.post(reverse("alerts:resolve", args=[group.pk]), follow=True)
    assert "Alert group resolved." in response.content.decode()
    group.refresh_from_db()
    assert group.status == GroupStatus.RESOLVED and group.resolved_by == responder
    html = client.get(url).content.decode()
    assert 'data-action="resolve"' not in html and "gstatus-resolved" in html


def test_actions_on_a_resolved_group_say_so_instead_of_failing(client, responder, group):
    client.force_login(responder)
    client.post(reverse("alerts:resolve", args=[group.pk]))
    again = client.post(reverse("alerts:resolve", args=[group.pk]))
    assert again.status_code == 302
    assert _message(again) == "This alert group is already resolved."
    ack = client.post(reverse("alerts:acknowledge", args=[group.pk]))
    assert ack.status_code == 302
    assert _message(ack) == "This alert group is resolved: there is nothing to acknowledge."


def test_acknowledging_twice_is_harmless(client, responder, group):
    client.force_login(responder)
    client.post(reverse("alerts:acknowledge", args=[group.pk]))
    again = client.post(reverse("alerts:acknowledge", args=[group.pk]))
    assert _message(again) == "This alert group is already acknowledged."


def test_commander_links_an_unlinked_group_to_an_incident(
    client, commander, fire_generic, checkout
):
    lone = fire_generic("slow-ui", title="UI slow", severity="warning", service="checkout")
    assert lone.incident is None  # a P3 with no open incident to attach to is only recorded
    incident = incident_declare(title="Checkout degraded", severity="P2", by=commander)
    client.force_login(commander)
    response = client.post(reverse("alerts:link", args=[lone.pk]), {"incident": incident.pk})
    assert _message(response) == f"Linked to {incident.ref}."
    lone.refresh_from_db()
    assert lone.incident == incident
    event = incident.events.get(kind=EventKind.ALERT)
    assert event.author == commander and event.data["change"] == "linked"
    again = client.post(reverse("alerts:link", args=[lone.pk]), {"incident": incident.pk})
    assert _message(again) == f"Already linked to {incident.ref}."


def test_linking_to_a_closed_or_unknown_incident_is_refused_with_a_message(
    client, commander, group
):
    closed = incident_declare(title="Done", severity="P3", by=commander)
    for to in ["acknowledged", "resolved", "closed"]:
        closed = incident_transition(incident=closed, to=to, by=commander)
    client.force_login(commander)
    for value in (closed.pk, 99999, "junk", ""):
        response = client.post(reverse("alerts:link", args=[group.pk]), {"incident": value})
        assert response.status_code == 302
        assert _message(response) == "Pick an open incident to link this alert group to."
    group.refresh_from_db()
    assert group.incident_id != closed.pk


# --- Untrusted content ------------------------------------------------------------------------

EVIL = {
    "title": "<script>alert('title')</script>",
    "description": '<img src=x onerror="alert(1)"> and <script>alert(2)</script>',
    "labels": {
        "team": "<script>alert(3)</script>",
        "owner": '"><svg onload=alert(4)>',
        "runbook": "javascript:alert(5)",
        "dashboard": "https://grafana.example/d/abc?x=1&y=2",
    },
    "links": [
        {"href": "javascript:alert(6)", "text": "<b>click me</b>"},
        {"href": " JaVaScRiPt:alert(7)", "text": "sneaky"},
        {"href": "java\tscript:alert(8)", "text": "tabbed"},
        {"href": "data:text/html,<script>alert(9)</script>", "text": "data"},
        {"href": "https://runbooks.example/checkout", "text": "Runbook"},
    ],
}


def _assert_safe(html: str) -> None:
    lowered = html.lower()
    assert "<script>alert" not in lowered
    assert "<img src=x" not in lowered and "<svg onload" not in lowered
    assert 'href="javascript:' not in lowered and 'href=" javascript:' not in lowered
    assert 'href="java\tscript' not in lowered and 'href="data:' not in lowered
    assert "<b>click me</b>" not in html


def test_untrusted_labels_annotations_and_links_are_escaped_or_dropped(
    client, viewer, commander, fire_generic, checkout
):
    evil = fire_generic("evil", severity="critical", service="checkout", **EVIL)
    assert evil.incident is not None
    client.force_login(viewer)
    detail = client.get(reverse("alerts:detail", args=[evil.pk])).content.decode()
    _assert_safe(detail)
    assert "&lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt;" in detail  # shown, escaped
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in detail
    assert 'href="https://runbooks.example/checkout"' in detail
    assert 'href="https://grafana.example/d/abc?x=1&amp;y=2"' in detail  # safe label value
    assert "&lt;b&gt;click me&lt;/b&gt;" in detail and "not linked" in detail
    for page in (
        reverse("alerts:list"),
        reverse("incidents:detail", args=[evil.incident.number]),
    ):
        _assert_safe(client.get(page).content.decode())


def test_generator_urls_other_than_http_are_not_linked(client, viewer, send, prom, checkout):
    alert = am_alert("Evil", service="checkout")
    alert["generatorURL"] = "javascript:alert(1)"
    send(prom, am_payload(alert))
    group = AlertGroup.objects.get()
    client.force_login(viewer)
    html = client.get(reverse("alerts:detail", args=[group.pk])).content.decode()
    _assert_safe(html)
    assert "javascript:alert(1)" in html  # as escaped text in the payload, never as a link
