"""Routing: rule order, match operators, defaults, actions, storm guard and maintenance."""

import pytest

from alerts.models import AlertGroup, RoutingRule
from alerts.suppression import register_suppression_check, unregister_suppression_check
from catalog.models import ComponentStatus
from incidents.models import Incident
from incidents.services import incident_declare
from tests.factories import ServiceFactory

from .payloads import am_alert, am_payload

pytestmark = pytest.mark.django_db


def rule(integration=None, position=0, *conditions, **fields):
    return RoutingRule.objects.create(
        integration=integration,
        position=position,
        name=fields.pop("name", f"rule {position}"),
        conditions=[dict(zip(("field", "op", "value"), c, strict=False)) for c in conditions],
        **fields,
    )


@pytest.fixture
def am(make_integration):
    return make_integration("alertmanager")


def fire(post, integration, **alert):
    post("alertmanager", am_payload(am_alert(**alert)), integration.raw_token)
    return AlertGroup.objects.order_by("-pk").first()


def test_first_matching_rule_by_position_wins(post, am, checkout):
    search = ServiceFactory(slug="search")
    rule(am, 2, ("labels.team", "equals", "payments"), service=checkout, severity="P0")
    rule(am, 1, ("labels.team", "exists"), service=search, severity="P2", action="record")
    group = fire(post, am, team="payments")
    assert (group.service, group.severity, group.action) == (search, "P2", "record")
    assert group.rule.name == "rule 1"


def test_integration_rules_come_before_global_rules(post, am, checkout):
    search = ServiceFactory(slug="search")
    rule(None, 0, ("labels.alertname", "regex", "^High"), service=search, name="global")
    rule(am, 5, ("labels.alertname", "regex", "Error"), service=checkout, name="own")
    assert fire(post, am).rule.name == "own"


def test_disabled_rules_are_skipped(post, am, checkout):
    rule(am, 0, ("labels.alertname", "exists"), severity="P0", enabled=False)
    assert fire(post, am).rule is None


@pytest.mark.parametrize(
    ("condition", "matches"),
    [
        (("labels.alertname", "equals", "HighErrorRate"), True),
        (("labels.alertname", "equals", "Other"), False),
        (("labels.alertname", "not_equals", "Other"), True),
        (("labels.alertname", "regex", "Error"), True),
        (("labels.alertname", "regex", "^Error"), False),
        (("labels.region", "exists"), False),
        (("labels.region", "not_exists"), True),
        (("annotations.summary", "regex", "checkout"), True),
        (("severity", "equals", "critical"), True),
        (("summary", "regex", "(unclosed"), False),  # a bad regex never matches, never crashes
    ],
)
def test_condition_operators(post, am, checkout, condition, matches):
    rule(am, 0, condition, severity="P3", action="record", name="probe")
    group = fire(post, am)
    assert (group.rule is not None) is matches


def test_service_comes_from_the_service_label_then_the_integration_default(
    post, make_integration, checkout
):
    fallback = ServiceFactory(slug="fallback")
    am = make_integration(default_service=fallback)
    assert fire(post, am, service="checkout", severity="info").service == checkout
    assert fire(post, am, service="unknown", severity="info").service == fallback


def test_symptom_label_reaches_the_incident(post, am, checkout):
    fire(post, am, symptom="high_latency")
    assert Incident.objects.get().symptom == "high_latency"


def test_record_action_never_opens_an_incident(post, am, checkout):
    rule(am, 0, ("labels.alertname", "exists"), action="record")
    fire(post, am)
    assert Incident.objects.count() == 0


def test_open_action_opens_even_a_p3(post, am, checkout):
    rule(am, 0, ("labels.alertname", "exists"), action="open_incident", severity="P3")
    fire(post, am)
    assert Incident.objects.get().severity == "P3"


def test_p2_attaches_to_the_open_incident_of_its_service(post, am, checkout, commander):
    incident = incident_declare(
        title="Checkout slow", severity="P2", by=commander, services=[checkout]
    )
    group = fire(post, am, severity="error")
    assert group.incident == incident and group.action == "attach"
    assert incident.events.filter(kind="alert").get().data["change"] == "attached"


def test_p2_without_an_open_incident_is_recorded(post, am, checkout):
    group = fire(post, am, severity="error")
    assert group.incident is None and Incident.objects.count() == 0


def test_a_storm_of_new_fingerprints_for_one_service_opens_one_incident(post, am, checkout):
    alerts = [am_alert(f"Alert{i}", pod=f"pod-{i}") for i in range(12)]
    post("alertmanager", am_payload(*alerts), am.raw_token)
    assert Incident.objects.count() == 1
    incident = Incident.objects.get()
    assert incident.alert_groups.count() == 12
    assert incident.events.filter(kind="alert").count() == 12


def test_alerts_for_a_service_under_maintenance_are_recorded_not_paged(post, am, checkout):
    checkout.status = ComponentStatus.UNDER_MAINTENANCE
    checkout.save()
    group = fire(post, am)
    assert group.suppressed and group.incident is None
    assert Incident.objects.count() == 0


def test_maintenance_windows_plug_into_the_suppression_hook(post, am, checkout):
    def in_window(*, service, at):
        return service.slug == "checkout"

    register_suppression_check(in_window)
    try:
        group = fire(post, am)
    finally:
        unregister_suppression_check(in_window)
    assert group.suppressed and Incident.objects.count() == 0


def test_auto_resolve_resolves_a_p3_incident_when_its_alerts_resolve(
    post, make_integration, checkout
):
    am = make_integration(auto_resolve_incidents=True)
    rule(am, 0, ("labels.alertname", "exists"), action="open_incident", severity="P3")
    alert = am_alert()
    post("alertmanager", am_payload(alert), am.raw_token)
    post(
        "alertmanager",
        am_payload({**alert, "status": "resolved", "endsAt": "2026-11-29T01:00:00Z"}),
        am.raw_token,
    )
    assert Incident.objects.get().status == "resolved"


def test_one_resolved_group_of_two_does_not_suggest_resolution(post, am, checkout):
    a, b = am_alert("A"), am_alert("B")
    post("alertmanager", am_payload(a, b), am.raw_token)
    post("alertmanager", am_payload({**a, "status": "resolved"}, b), am.raw_token)
    incident = Incident.objects.get()
    assert not incident.events.filter(data__change="all_resolved").exists()


def test_alerts_for_a_closed_incident_are_not_written_to_it(post, am, checkout, commander):
    from incidents.services import incident_transition

    alert = am_alert()
    post("alertmanager", am_payload(alert), am.raw_token)
    incident = Incident.objects.get()
    incident_transition(incident=incident, to="resolved", by=commander)
    incident_transition(incident=incident, to="closed", by=commander)
    before = incident.events.count()
    post("alertmanager", am_payload({**alert, "status": "resolved"}), am.raw_token)
    assert incident.events.count() == before
    assert AlertGroup.objects.get().status == "resolved"


def test_an_alert_that_opens_an_incident_runs_its_symptoms_runbook(
    post, am, checkout, django_capture_on_commit_callbacks
):
    from diagnostics.models import Diagnosis

    with django_capture_on_commit_callbacks(execute=True):
        fire(post, am, symptom="high_latency")
    diagnosis = Diagnosis.objects.get(incident=Incident.objects.get())
    assert diagnosis.runbook.symptom == "high_latency"
    assert diagnosis.trigger == "incident declared with symptom “High response times”"
