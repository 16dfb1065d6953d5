from django.urls import path

from .consumers import TimelineConsumer

websocket_urlpatterns = [
    path("ws/incidents/<int:incident_id>/timeline/", TimelineConsumer.as_asgi()),
]
