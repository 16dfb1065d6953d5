"""The timeline's `seq` is contiguous per incident: under concurrency, after rollbacks, and the
`check_timeline` command notices when it is not."""

from __future__ import annotations

import contextlib
import json
import threading
import time

import pytest
from django.db import connection, transaction
from django.db.models import F

from incidents.models import EventKind, Incident, SeverityPolicy, TimelineEvent
from incidents.services import note_add, timeline_append

from .support import T0, check_timeline, check_timeline_failure, pool_room_for, run_together

THREADS = 20
APPENDS_PER_THREAD = 50


def seqs_of(incident: Incident) -> list[int]:
    return list(
        TimelineEvent.objects.filter(incident=incident)
        .order_by("seq")
        .values_list("seq", flat=True)
    )


# --- Under concurrency (PostgreSQL) -------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_get_each_seq_exactly_once(declare, record_property):
    incident = declare()  # the 'declared' event is seq 1
    backends: set[int] = set()

    def append_many(thread: int) -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backends.add(cursor.fetchone()[0])
        for n in range(APPENDS_PER_THREAD):
            timeline_append(
                incident_id=incident.pk, kind=EventKind.NOTE, body=f"thread {thread} note {n}"
            )
        return thread

    with pool_room_for(THREADS):
        started = time.perf_counter()
        run_together(THREADS, append_many)
        elapsed = time.perf_counter() - started

    total = THREADS * APPENDS_PER_THREAD
    rate = total / elapsed
    print(
        f"\ntimeline_append: {THREADS} threads x {APPENDS_PER_THREAD} = {total} appends in "
        f"{elapsed:.2f} s = {rate:.0f} appends/s over {len(backends)} PostgreSQL connections"
    )
    record_property("threads", THREADS)
    record_property("appends", total)
    record_property("elapsed_seconds", round(elapsed, 3))
    record_property("appends_per_second", round(rate))
    record_property("connections", len(backends))

    assert len(backends) == THREADS  # every thread really had its own connection
    assert seqs_of(incident) == list(range(1, total + 2))
    incident.refresh_from_db()
    assert incident.last_seq == total + 1
    bodies = set(incident.events.filter(kind=EventKind.NOTE).values_list("body", flat=True))
    assert len(bodies) == total
    assert "All timelines contiguous." in check_timeline()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_append_waiting_behind_a_rolled_back_append_takes_its_number(declare):
    """A rollback returns the number even when another appender is already queued behind it."""
    incident = declare()
    appended = threading.Event()
    release = threading.Event()
    results: dict[str, object] = {}

    def rolled_back() -> None:
        try:
            with contextlib.suppress(RuntimeError), transaction.atomic():
                results["doomed"] = timeline_append(
                    incident_id=incident.pk, kind=EventKind.NOTE, body="doomed"
                ).seq
                appended.set()
                release.wait(timeout=30)
                raise RuntimeError("roll back")
        finally:
            connection.close()

    def queued() -> None:
        try:
            appended.wait(timeout=30)
            results["kept"] = timeline_append(
                incident_id=incident.pk, kind=EventKind.NOTE, body="kept"
            ).seq
        finally:
            connection.close()

    with pool_room_for(3):
        threads = [threading.Thread(target=rolled_back), threading.Thread(target=queued)]
        for thread in threads:
            thread.start()
        assert appended.wait(timeout=30)
        # Roll back only once the second appender is blocked on the incident row's lock.
        deadline = time.monotonic() + 30
        while not _someone_waits_for_a_lock():
            assert time.monotonic() < deadline, "second appender never queued"
            time.sleep(0.01)
        release.set()
        for thread in threads:
            thread.join(timeout=30)

    assert results == {"doomed": 2, "kept": 2}
    assert seqs_of(incident) == [1, 2]
    assert Incident.objects.get(pk=incident.pk).last_seq == 2
    assert "All timelines contiguous." in check_timeline()


def _someone_waits_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


# --- Rollbacks (any database) -------------------------------------------------------------------


def test_rolled_back_append_leaves_no_gap(declare, commander):
    incident = declare()

    with pytest.raises(RuntimeError), transaction.atomic():
        assert note_add(incident=incident, body="never happened", by=commander).seq == 2
        raise RuntimeError("the request failed after appending")

    assert timeline_append(incident_id=incident.pk, kind=EventKind.NOTE, body="next").seq == 2
    assert seqs_of(incident) == [1, 2]
    assert not incident.events.filter(body="never happened").exists()
    assert "All timelines contiguous." in check_timeline()


def test_append_to_a_missing_incident_raises_and_writes_nothing(declare):
    incident = declare()

    with pytest.raises(Incident.DoesNotExist):
        timeline_append(incident_id=incident.pk + 1000, kind=EventKind.NOTE, body="lost")

    assert TimelineEvent.objects.count() == 1


def test_timeline_events_are_immutable(declare):
    event = declare().events.get()

    event.body = "rewritten"
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        event.delete()

    assert TimelineEvent.objects.get(pk=event.pk).body != "rewritten"


# --- check_timeline -----------------------------------------------------------------------------


@pytest.fixture
def two_incidents(declare, commander):
    """INC-1 and INC-2 with contiguous timelines 1..3."""
    incidents = [declare(title="Checkout failing"), declare(title="Search slow")]
    for incident in incidents:
        for n in range(2):
            note_add(incident=incident, body=f"note {n}", by=commander, now=T0)
    return incidents


def test_check_timeline_passes_contiguous_timelines(two_incidents):
    assert "All timelines contiguous." in check_timeline()


def test_check_timeline_passes_an_incident_without_events(playbook, declare):
    declare()
    Incident.objects.create(
        number=99,
        title="imported without events",
        severity="P2",
        severity_policy=SeverityPolicy.objects.get(level="P2"),
    )

    assert "All timelines contiguous." in check_timeline()


def test_check_timeline_fails_on_a_gap_and_names_the_incident(two_incidents):
    second = two_incidents[1]
    # Renumber the last event: 1, 2, 4 while the counter says 3.
    TimelineEvent.objects.filter(incident=second, seq=3).update(seq=4)

    error, out = check_timeline_failure()

    assert error == "1 timeline(s) inconsistent"
    assert "INC-2" in out
    assert "INC-1" not in out
    assert "missing [3]" in out


def test_check_timeline_fails_on_a_gap_the_counter_agrees_with(two_incidents):
    first = two_incidents[0]
    # An event written with seq n+2 by a path that also moved the counter: 1, 2, 3, 5.
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TimelineEvent._meta.db_table} "
            "(incident_id, seq, kind, visibility, body, data, created_at) "
            "VALUES (%s, 5, 'note', 'internal', 'skipped a number', '{}', %s)",
            [first.pk, T0],
        )
    Incident.objects.filter(pk=first.pk).update(last_seq=5)

    _, out = check_timeline_failure()

    assert "INC-1: missing [4]" in out
    assert "INC-2" not in out


def test_check_timeline_fails_when_the_counter_is_ahead_of_the_events(two_incidents):
    first = two_incidents[0]
    Incident.objects.filter(pk=first.pk).update(last_seq=F("last_seq") + 1)

    _, out = check_timeline_failure()

    assert "INC-1: missing [4], duplicates -, counter 4, highest 3" in out


def test_check_timeline_fails_when_the_counter_is_behind_the_events(two_incidents):
    """The next append would collide with an existing seq: report it before it happens."""
    first = two_incidents[0]
    Incident.objects.filter(pk=first.pk).update(last_seq=2)

    _, out = check_timeline_failure()

    assert "INC-1: missing -, duplicates -, counter 2, highest 3" in out


def test_check_timeline_fails_when_the_first_event_is_not_seq_1(two_incidents):
    first = two_incidents[0]
    TimelineEvent.objects.filter(incident=first, seq=1).update(seq=0)

    _, out = check_timeline_failure()

    assert "INC-1: missing [1]" in out


def test_check_timeline_json_output_names_each_problem(two_incidents):
    first = two_incidents[0]
    Incident.objects.filter(pk=first.pk).update(last_seq=F("last_seq") + 2)

    _, out = check_timeline_failure("--json")

    problems = [json.loads(line) for line in out.splitlines() if line]
    assert problems == [
        {
            "timeline": "incident",
            "owner_id": first.pk,
            "ref": "INC-1",
            "missing": [4, 5],
            "duplicates": [],
            "counter": 5,
            "highest": 3,
        }
    ]
