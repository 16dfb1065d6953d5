"""Fan-out: each public incident update and public maintenance notice becomes one delivery per
matching subscriber — once, whether the after-commit hook, the beat sweep or both ran — and
nothing internal ever becomes one, or a word of one."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.models import OutboxEvent
from maintenance.models import NoticeKind
from maintenance.notices import notify
from statuspage.models import DeliveryState, SubscriberDelivery
from statuspage.subscriptions.fanout import fan_out_sweep, outbox_event_fan_out
from tests.factories import ServiceFactory
from tests.incidents.support import pool_room_for, run_together
from tests.statuspage.incident_support import declare, note, publish
from tests.statuspage.subscription_support import (
    Receiver,
    email_subscriber,
    html_part,
    webhook_subscriber,
)
from tests.statuspage.support import make_window

pytestmark = pytest.mark.django_db

MARKER = "ZZ-INTERNAL-7f3a"


@pytest.fixture(autouse=True)
def _inline(settings):
    settings.STATUSPAGE_DELIVER_INLINE = True


def keys(subscriber) -> list[str]:
    return list(subscriber.deliveries.values_list("event_key", flat=True))


def test_a_public_update_fans_out_once_per_subscriber_when_hook_and_sweep_both_run(
    mailoutbox, django_capture_on_commit_callbacks
):
    ann, bob = email_subscriber(), email_subscriber()

    with django_capture_on_commit_callbacks(execute=True):
        publish(declare(public_title="Checkout errors"), "We are looking into it.")
    swept = fan_out_sweep()

    assert swept == 0
    assert SubscriberDelivery.objects.count() == 2
    assert len(keys(ann)) == len(keys(bob)) == 1
    assert sorted(m.to[0] for m in mailoutbox) == sorted([ann.email, bob.email])
    assert set(SubscriberDelivery.objects.values_list("state", flat=True)) == {DeliveryState.SENT}


def test_the_sweep_fans_out_what_a_lost_hook_missed_and_only_once(
    mailoutbox, django_capture_on_commit_callbacks
):
    ann = email_subscriber()
    publish(declare(), "We are looking into it.")  # committed, but the hook never ran

    with django_capture_on_commit_callbacks(execute=True):
        first = fan_out_sweep()
        second = fan_out_sweep()

    assert (first, second) == (1, 0)
    assert len(keys(ann)) == 1
    assert len(mailoutbox) == 1


def test_events_older_than_the_lookback_are_not_swept():
    email_subscriber()
    publish(declare(), "We are looking into it.")

    assert fan_out_sweep(now=timezone.now() + timedelta(hours=25)) == 0
    assert not SubscriberDelivery.objects.exists()


def test_a_subscriber_confirmed_after_the_update_does_not_receive_it():
    publish(declare(), "We are looking into it.")
    late = email_subscriber()
    late.confirmed_at = timezone.now() + timedelta(seconds=5)
    late.save()

    assert fan_out_sweep() == 0
    assert keys(late) == []


def test_subscribers_hear_only_about_their_components_or_everything(
    django_capture_on_commit_callbacks,
):
    api, web = ServiceFactory(name="API"), ServiceFactory(name="Website")
    api_fan, web_fan, everything = (
        email_subscriber(components=[api]),
        email_subscriber(components=[web]),
        email_subscriber(),
    )

    with django_capture_on_commit_callbacks(execute=True):
        publish(declare(services=[api]), "API errors.")
    assert (len(keys(api_fan)), len(keys(web_fan)), len(keys(everything))) == (1, 0, 1)

    # An incident on no public component concerns the whole page: everyone hears of it.
    with django_capture_on_commit_callbacks(execute=True):
        publish(declare(), "Something is off.")
    assert (len(keys(api_fan)), len(keys(web_fan)), len(keys(everything))) == (2, 1, 2)


def test_an_affected_component_of_the_update_counts_too(django_capture_on_commit_callbacks):
    api = ServiceFactory(name="API")
    api_fan = email_subscriber(components=[api])
    incident = declare(services=[api])

    with django_capture_on_commit_callbacks(execute=True):
        publish(incident, "Degraded.", component_status="degraded_performance")

    payload = api_fan.deliveries.get().payload["incident"]
    assert payload["components"] == [{"id": str(api.pk), "name": "API"}]
    assert payload["incident_update"]["affected_components"] == [
        {
            "code": str(api.pk),
            "name": "API",
            "old_status": "operational",
            "new_status": "degraded_performance",
        }
    ]


def test_internal_notes_and_incident_changes_fan_out_nothing(
    mailoutbox, django_capture_on_commit_callbacks
):
    email_subscriber()

    with django_capture_on_commit_callbacks(execute=True):
        incident = declare()
        note(incident, "Internal only.")

    assert fan_out_sweep() == 0
    assert not SubscriberDelivery.objects.exists()
    assert mailoutbox == []


def test_an_internal_window_notice_fans_out_nothing(mailoutbox, django_capture_on_commit_callbacks):
    email_subscriber()
    window = make_window([ServiceFactory()], title=f"Rotate keys {MARKER}", public=False)

    with django_capture_on_commit_callbacks(execute=True):
        assert notify(window, NoticeKind.ADVANCE, window.scheduled_start, now=timezone.now())

    assert OutboxEvent.objects.filter(topic="maintenance.notice").count() == 1
    assert fan_out_sweep() == 0
    assert not SubscriberDelivery.objects.exists()
    assert mailoutbox == []


def test_a_public_window_notice_reaches_subscribers_with_public_components_only(
    mailoutbox, django_capture_on_commit_callbacks
):
    api = ServiceFactory(name="API")
    vault = ServiceFactory(name=f"Vault {MARKER}", show_on_status_page=False)
    fan = email_subscriber(components=[api])
    window = make_window([api, vault], title="Database upgrade")

    with django_capture_on_commit_callbacks(execute=True):
        notify(window, NoticeKind.ADVANCE, window.scheduled_start, now=timezone.now())
    assert fan_out_sweep() == 0

    delivery = fan.deliveries.get()
    maintenance = delivery.payload["scheduled_maintenance"]
    assert delivery.subject.endswith("Scheduled maintenance: Database upgrade")
    assert maintenance["id"] == f"MW-{window.pk}"
    assert maintenance["status"] == "scheduled"
    assert maintenance["components"] == [{"id": str(api.pk), "name": "API"}]
    assert maintenance["shortlink"].endswith(f"/status/maintenance/{window.pk}/")
    [message] = mailoutbox
    assert "Database upgrade" in message.body
    assert MARKER not in message.body + html_part(message) + json.dumps(delivery.payload)


def test_notices_and_payloads_carry_only_public_text(
    mailoutbox, django_capture_on_commit_callbacks
):
    public_api = ServiceFactory(name=f"api-{MARKER}", component_name="Public API")
    internal = ServiceFactory(name=f"Ledger {MARKER}", show_on_status_page=False)
    reader = email_subscriber()
    with Receiver() as hook:
        webhook_subscriber(hook.url)
        incident = declare(
            title=f"Internal title {MARKER}",
            public_title="Checkout errors",
            services=[public_api, internal],
            impact_summary=f"Summary {MARKER}",
        )
        note(incident, f"Note {MARKER}")
        with django_capture_on_commit_callbacks(execute=True):
            publish(incident, "We are looking into **elevated errors**.", status="identified")
        [received] = hook.received

    [message] = mailoutbox
    html = html_part(message)
    assert message.to == [reader.email]
    assert message.subject.endswith("Checkout errors: Identified")
    for text in (message.subject, message.body, html, received.body.decode()):
        assert MARKER not in text
    assert "Checkout errors" in message.body and "elevated errors" in message.body
    assert "<strong>elevated errors</strong>" in html
    assert "Public API" in message.body and "Ledger" not in message.body
    payload = json.loads(received.body)
    assert payload["incident"]["name"] == "Checkout errors"
    assert payload["incident"]["id"] == incident.ref
    assert payload["incident"]["incident_update"]["id"] == f"{incident.ref}-1"
    assert payload["incident"]["components"] == [{"id": str(public_api.pk), "name": "Public API"}]


def test_the_public_title_falls_back_to_the_title_as_on_the_page(
    mailoutbox, django_capture_on_commit_callbacks
):
    email_subscriber()
    publish(declare(title="Search is slow"), "Looking.")

    with django_capture_on_commit_callbacks(execute=True):
        fan_out_sweep()

    assert mailoutbox[0].subject.endswith("Search is slow: Investigating")


@pytest.mark.django_db(transaction=True)
def test_concurrent_fan_outs_of_one_event_create_and_send_each_delivery_once(mailoutbox):
    event_created = publish(declare(), "We are looking into it.")  # its hook finds nobody yet
    event = OutboxEvent.objects.get(topic="incident.public_update", incident=event_created.incident)
    readers = [email_subscriber() for _ in range(12)]  # confirmed an hour before the event

    with pool_room_for(4):
        run_together(4, lambda _index: outbox_event_fan_out(event))

    assert SubscriberDelivery.objects.count() == len(readers)
    assert sorted(m.to[0] for m in mailoutbox) == sorted(r.email for r in readers)
