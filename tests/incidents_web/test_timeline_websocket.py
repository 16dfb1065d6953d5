"""The timeline websocket: authorised joins only, and a nudge with the new seq after commit."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from incidents.models import EventKind
from incidents.services import incident_declare, timeline_append
from ops_portal.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


def _headers(user=None):
    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
    if user is not None:
        client = Client()
        client.force_login(user)
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    return headers


def _connect(path, headers):
    async def run():
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, _ = await communicator.connect(timeout=5)
        await communicator.disconnect()
        return connected

    return async_to_sync(run)()


def test_viewer_receives_the_seq_of_each_event_appended_after_commit(viewer, commander):
    incident = incident_declare(title="Live", severity="P1", by=commander)
    headers = _headers(viewer)

    async def run():
        communicator = WebsocketCommunicator(
            application, f"/ws/incidents/{incident.pk}/timeline/", headers=headers
        )
        connected, _ = await communicator.connect(timeout=5)
        assert connected
        await sync_to_async(timeline_append)(
            incident_id=incident.pk, kind=EventKind.NOTE, body="from a worker"
        )
        message = await communicator.receive_json_from(timeout=5)
        await communicator.send_json_to({"type": "ping"})
        pong = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return message, pong

    message, pong = async_to_sync(run)()
    assert message == {"type": "appended", "seq": 2}
    assert pong == {"type": "pong"}


def test_anonymous_and_roleless_users_cannot_join(make_user, commander):
    incident = incident_declare(title="Live", severity="P1", by=commander)
    path = f"/ws/incidents/{incident.pk}/timeline/"
    assert _connect(path, _headers()) is False
    assert _connect(path, _headers(make_user(None, username="nobody"))) is False


def test_unknown_incident_cannot_be_joined(viewer):
    assert _connect("/ws/incidents/999999/timeline/", _headers(viewer)) is False


def test_foreign_origin_is_refused_even_with_a_session(viewer, commander):
    incident = incident_declare(title="Live", severity="P1", by=commander)
    headers = [
        (name, b"https://evil.example" if name == b"origin" else value)
        for name, value in _headers(viewer)
    ]
    assert _connect(f"/ws/incidents/{incident.pk}/timeline/", headers) is False
