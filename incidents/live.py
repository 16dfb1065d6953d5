"""Tell open incident pages that new timeline events exist.

The message carries only the new `seq`: clients then fetch `?after=<their last seq>`, so the
websocket never carries event content and a missed message costs nothing but a later fetch.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def timeline_group(incident_id: int) -> str:
    return f"incident-timeline-{incident_id}"


def broadcast_appended(incident_id: int, seq: int) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            timeline_group(incident_id), {"type": "timeline.appended", "seq": seq}
        )
    except Exception as exc:  # a down channel layer must never fail the write; pages resync
        logger.warning("could not broadcast timeline event %s#%s: %r", incident_id, seq, exc)
