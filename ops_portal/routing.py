"""Websocket routes of all apps, collected in one list the ASGI app serves (all under /ws/, which
the proxy routes to the Procfile's `ws` process)."""

from incidents.routing import websocket_urlpatterns as incident_routes

websocket_urlpatterns: list = [*incident_routes]
