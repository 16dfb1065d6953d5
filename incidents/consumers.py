"""Websocket: `/ws/incidents/<id>/timeline/` nudges open incident pages about new events.

Only `{"seq": n}` is sent; the page fetches the events over HTTP with its session, so the
websocket carries nothing a permission check has not already allowed twice (here, on join,
and again on the fetch).
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts.permissions import Perm, user_has_perm

from .live import timeline_group
from .models import Incident


@database_sync_to_async
def _may_watch(user, incident_id: int) -> bool:
    return (
        user_has_perm(user, Perm.INCIDENTS_READ)
        and Incident.objects.filter(pk=incident_id).exists()
    )


class TimelineConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.incident_id = int(self.scope["url_route"]["kwargs"]["incident_id"])
        self.group = timeline_group(self.incident_id)
        if not await _may_watch(self.scope.get("user"), self.incident_id):
            await self.close(code=4403)
            return
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        # Clients only listen; a ping keeps proxies from closing an idle socket.
        if content == {"type": "ping"}:
            await self.send_json({"type": "pong"})

    async def timeline_appended(self, message):
        await self.send_json({"type": "appended", "seq": message["seq"]})
