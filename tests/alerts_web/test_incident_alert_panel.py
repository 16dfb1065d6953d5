"""The incident page lists the alert groups linked to the incident (a panel the alerts app
registers: the incidents app never imports alerts)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from alerts.models import AlertGroup
from incidents.services import incident_declare
from tests.alerts.payloads import generic_alert

pytestmark = pytest.mark.django_db


def _incident_page(client, user, incident) -> str:
    client.force_login(user)
    return client.get(reverse("incidents:detail", args=[incident.number])).content.decode()


def test_incident_page_lists_its_alert_groups(client, viewer, group, send, prom):
    html = _incident_page(client, viewer, group.incident)
    panel = html.split('id="panel-alerts"')[1].split("</section>")[0]
    assert "checkout HighErrorRate" in panel and "Prometheus prod" in panel
    assert f'href="{reverse("alerts:detail", args=[group.pk])}"' in panel
    assert "gstatus-firing" in panel and "1 firing" in panel
    assert 'class="num">1</td>' in panel and "ago</time>" in panel
    assert f"?incident={group.incident.number}&amp;status=all" in panel
    assert 'href="/static/css/alerts.css"' in html.split("</head>")[0]


def test_incident_without_alerts_has_no_alert_panel(client, viewer, commander):
    incident = incident_declare(title="Declared by hand", severity="P2", by=commander)
    assert 'id="panel-alerts"' not in _incident_page(client, viewer, incident)


def test_panel_shows_the_newest_five_and_links_to_all(client, viewer, send, hooks, checkout):
    send(
        hooks,
        {
            "alerts": [
                generic_alert(
                    f"k{n}", title=f"Checkout alert {n}", severity="critical", service="checkout"
                )
                for n in range(8)
            ]
        },
    )
    groups = AlertGroup.objects.filter(incident__isnull=False)
    assert groups.count() == 8 and len({g.incident_id for g in groups}) == 1
    html = _incident_page(client, viewer, groups.first().incident)
    panel = html.split('id="panel-alerts"')[1].split("</section>")[0]
    assert panel.count("<tr>") == 5 + 1  # five rows and the header
    assert "All 8 alert groups" in panel and "8 firing" in panel


def test_incident_page_query_count_does_not_grow_with_alert_groups(
    client, viewer, send, hooks, checkout, django_assert_max_num_queries
):
    def fire(keys, title="Alert"):
        alerts = [
            generic_alert(k, title=f"{title} {k}", severity="critical", service="checkout")
            for k in keys
        ]
        send(hooks, {"alerts": alerts})

    fire(["first"])
    incident = AlertGroup.objects.get().incident
    client.force_login(viewer)
    url = reverse("incidents:detail", args=[incident.number])
    with django_assert_max_num_queries(30) as small:
        client.get(url)
    baseline = len(small.captured_queries)  # before the ingestion requests reset the log
    fire([f"more-{n}" for n in range(30)])
    fire([f"more-{n}" for n in range(10)], title="Still")  # new events for known groups
    assert AlertGroup.objects.filter(incident=incident).count() == 31
    with django_assert_max_num_queries(baseline):
        html = client.get(url).content.decode()
    assert "All 31 alert groups" in html and 'class="num">2</td>' in html
