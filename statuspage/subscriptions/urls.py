"""Subscription paths, added to statuspage.urls (namespace `statuspage`)."""

from django.urls import path

from . import admin_views, views

urlpatterns = [
    path("status/subscribe/", views.subscribe, name="subscribe"),
    path("status/subscribe/sent/", views.subscribe_sent, name="subscribe-sent"),
    path("status/subscribe/confirm/<str:token>/", views.confirm, name="subscribe-confirm"),
    path("status/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("status/admin/subscribers/", admin_views.subscribers, name="subscribers-admin"),
    path(
        "status/admin/subscribers/deliveries/<int:pk>/retry/",
        admin_views.delivery_retry,
        name="subscriber-delivery-retry",
    ),
]
