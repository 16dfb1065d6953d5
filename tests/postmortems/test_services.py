"""Postmortem rules: creation per severity, due dates, review and publication, revisions,
timeline curation, action items."""

from __future__ import annotations

from datetime import timedelta

import pytest

from accounts.permissions import Role
from incidents.models import EventKind, Incident, TimelineEvent
from incidents.services import note_add
from postmortems import services
from postmortems.errors import PostmortemError
from postmortems.models import ActionStatus, Postmortem, PostmortemRevision, PostmortemState
from postmortems.timeline import entries

from .conftest import T0

pytestmark = pytest.mark.django_db


def refused(code, fn, **kwargs):
    with pytest.raises(PostmortemError) as caught:
        fn(**kwargs)
    assert caught.value.code == code, caught.value
    return caught.value


@pytest.mark.parametrize(("severity", "created"), [("P0", True), ("P1", True), ("P2", False)])
def test_resolving_creates_the_postmortem_where_the_severity_requires_one(
    resolved, severity, created, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        incident = resolved(severity)
    assert Postmortem.objects.filter(incident=incident).exists() is created


def test_the_postmortem_is_due_48_hours_after_resolution_and_owned_by_the_commander(
    resolved, commander
):
    incident = resolved()
    postmortem = services.postmortem_create(incident=incident)
    assert postmortem.due_at == incident.resolved_at + timedelta(hours=48)
    assert postmortem.owner == commander and postmortem.required
    assert services.postmortem_create(incident=incident) == postmortem  # once
    event = incident.events.get(kind=EventKind.POSTMORTEM)
    assert event.data["change"] == "created"


def test_the_sweeper_creates_what_the_resolve_hook_missed(resolved):
    required, optional = resolved("P0"), resolved("P3", services=[])
    assert services.postmortems_ensure(now=T0 + timedelta(hours=1)) == 1
    assert Postmortem.objects.filter(incident=required).exists()
    assert not Postmortem.objects.filter(incident=optional).exists()
    assert services.postmortems_ensure(now=T0 + timedelta(hours=1)) == 0


def test_an_open_incident_has_no_postmortem_yet(commander):
    from incidents.services import incident_declare

    incident = incident_declare(title="x", severity="P2", by=commander, now=T0)
    refused("incident_open", services.postmortem_create, incident=incident)


def test_review_then_publish_freezes_a_revision(resolved, make_user):
    postmortem = services.postmortem_create(incident=resolved())
    writer, reviewer = make_user(Role.RESPONDER), make_user(Role.COMMANDER)
    refused("incomplete", services.postmortem_submit, postmortem=postmortem, by=writer)
    services.postmortem_update(
        postmortem=postmortem, by=writer, summary="Pool exhausted.", root_cause="A leak."
    )
    services.postmortem_submit(postmortem=postmortem, by=writer)
    refused("not_reviewed", services.postmortem_publish, postmortem=postmortem, by=reviewer)
    services.postmortem_review(postmortem=postmortem, by=reviewer)
    published = services.postmortem_publish(postmortem=postmortem, by=reviewer, now=T0)
    assert published.state == PostmortemState.PUBLISHED and published.first_published_at == T0
    revision = PostmortemRevision.objects.get(postmortem=postmortem)
    assert revision.number == 1 and revision.content["sections"]["root_cause"] == "A leak."
    with pytest.raises(ValueError):
        revision.save()


def test_editing_a_published_postmortem_opens_the_next_revision(resolved, commander):
    postmortem = _published(resolved(), commander)
    edited = services.postmortem_update(postmortem=postmortem, by=commander, lessons="More")
    assert (edited.revision, edited.state) == (2, PostmortemState.DRAFT)
    assert edited.first_published_at is not None  # on-time figures keep the first publication
    first = PostmortemRevision.objects.get(postmortem=postmortem, number=1)
    assert first.content["sections"]["lessons"] == ""
    _publish(edited, commander)
    assert list(postmortem.revisions.values_list("number", flat=True)) == [2, 1]


def test_changing_reviewed_text_needs_another_review(resolved, commander):
    postmortem = services.postmortem_create(incident=resolved())
    services.postmortem_update(postmortem=postmortem, by=commander, summary="s", root_cause="r")
    services.postmortem_submit(postmortem=postmortem, by=commander)
    services.postmortem_review(postmortem=postmortem, by=commander)
    services.postmortem_update(postmortem=postmortem, by=commander, summary="changed")
    refused("not_reviewed", services.postmortem_publish, postmortem=postmortem, by=commander)


def test_the_timeline_section_has_the_key_events_in_order(resolved, commander):
    incident = resolved()
    note_add(incident=incident, body="chatter", by=commander, now=T0 + timedelta(minutes=15))
    postmortem = services.postmortem_create(incident=incident)
    labels = [e.label for e in entries(postmortem)]
    assert labels == [
        "Detected and declared",
        "Status → acknowledged",
        "Status → investigating",
        "Status → mitigating",
        "Status → resolved",
    ]
    seqs = [e.seq for e in entries(postmortem)]
    assert seqs == sorted(seqs)


def test_curation_hides_includes_and_annotates_without_touching_the_incident(resolved, commander):
    incident = resolved()
    note = note_add(incident=incident, body="Rolled back at 12:35", by=commander)
    postmortem = services.postmortem_create(incident=incident)
    before = list(TimelineEvent.objects.filter(incident=incident).values_list("pk", "body", "data"))
    ack = incident.events.get(kind="status_change", data__to="acknowledged")
    services.curation_set(postmortem=postmortem, event=ack, by=commander, hidden=True)
    services.curation_set(
        postmortem=postmortem, event=note, by=commander, included=True, annotation="The fix."
    )
    visible = entries(postmortem, include_hidden=False)
    assert ack.seq not in [e.seq for e in visible]
    [pulled] = [e for e in visible if e.seq == note.seq]
    assert pulled.annotation == "The fix." and not pulled.key
    after = list(TimelineEvent.objects.filter(incident=incident).values_list("pk", "body", "data"))
    assert after[: len(before)] == before  # only new postmortem events were appended


def test_curating_another_incidents_event_is_refused(resolved, commander):
    postmortem = services.postmortem_create(incident=resolved())
    other = resolved(title="Other").events.first()
    refused(
        "wrong_incident",
        services.curation_set,
        postmortem=postmortem,
        event=other,
        by=commander,
        hidden=True,
    )


def test_curating_a_published_postmortem_opens_a_revision(resolved, commander):
    postmortem = _published(resolved(), commander)
    event = postmortem.incident.events.first()
    services.curation_set(postmortem=postmortem, event=event, by=commander, annotation="note")
    postmortem.refresh_from_db()
    assert (postmortem.revision, postmortem.state) == (2, PostmortemState.DRAFT)


def test_action_items_statuses(resolved, commander):
    incident = resolved()
    postmortem = services.postmortem_create(incident=incident)
    item = services.action_item_create(postmortem=postmortem, title="Alert on pool", by=commander)
    assert item.service == incident.services.first()  # counted per service
    refused(
        "reason_required",
        services.action_item_set_status,
        item=item,
        status=ActionStatus.WONT_DO,
        by=commander,
    )
    services.action_item_set_status(
        item=item, status=ActionStatus.WONT_DO, by=commander, reason="Replaced by autoscaling"
    )
    item.refresh_from_db()
    assert item.completed_at and item.wont_do_reason == "Replaced by autoscaling"
    services.action_item_set_status(item=item, status=ActionStatus.OPEN, by=commander)
    item.refresh_from_db()
    assert item.completed_at is None and item.wont_do_reason == ""


def test_key_metrics_use_the_earliest_alert_as_impact_start(resolved):
    from postmortems.metrics import key_metrics

    incident = resolved()
    postmortem = services.postmortem_create(incident=incident)
    postmortem.impact_started_at = incident.detected_at - timedelta(minutes=7)
    metrics = key_metrics(postmortem)
    assert metrics.time_to_detect == 7.0
    assert metrics.time_to_acknowledge == 10.0
    assert metrics.time_to_mitigate == 30.0
    assert metrics.time_to_resolve == 40.0
    assert metrics.impact_duration == 47.0


def _publish(postmortem, by):
    if postmortem.state == PostmortemState.DRAFT:
        services.postmortem_submit(postmortem=postmortem, by=by)
    services.postmortem_review(postmortem=postmortem, by=by)
    return services.postmortem_publish(postmortem=postmortem, by=by)


def _published(incident: Incident, by):
    postmortem = services.postmortem_create(incident=incident)
    services.postmortem_update(postmortem=postmortem, by=by, summary="s", root_cause="r")
    return _publish(postmortem, by)
