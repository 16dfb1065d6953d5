"""Websocket routes of all apps, collected in one list the ASGI app serves.

Each app that serves websockets exposes `websocket_urlpatterns` in its own `routing.py`; add it
here. The foundation has none yet: the first is the incident timeline.
"""

websocket_urlpatterns: list = []
