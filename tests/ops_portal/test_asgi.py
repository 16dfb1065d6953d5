"""ASGI wiring: HTTP through the ASGI app, websocket origin checks, and the channel layer."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import HttpCommunicator, WebsocketCommunicator
from django.conf import settings

from ops_portal.asgi import application


@pytest.mark.django_db(transaction=True)
def test_http_is_served_by_the_asgi_application():
    communicator = HttpCommunicator(
        application, "GET", "/health", headers=[(b"host", b"localhost")]
    )
    response = async_to_sync(communicator.get_response)(timeout=10)
    assert response["status"] in (200, 503)
    assert b'"checks"' in response["body"]


@pytest.mark.django_db(transaction=True)
def test_websocket_from_a_foreign_origin_is_refused():
    async def attempt():
        communicator = WebsocketCommunicator(
            application,
            "/ws/anything/",
            headers=[(b"origin", b"https://evil.example"), (b"host", b"localhost")],
        )
        connected, _ = await communicator.connect(timeout=5)
        await communicator.disconnect()
        return connected

    assert async_to_sync(attempt)() is False


def test_channel_layer_delivers_group_messages():
    async def roundtrip():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add("ops-test", channel)
        await layer.group_send("ops-test", {"type": "timeline.event", "seq": 1})
        message = await layer.receive(channel)
        await layer.group_discard("ops-test", channel)
        return message

    assert async_to_sync(roundtrip)() == {"type": "timeline.event", "seq": 1}


@pytest.mark.redis
def test_channel_layer_is_redis_when_redis_url_is_set():
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"
