"""Ops Portal project package: settings, URLs, ASGI/WSGI, Celery app, health and metrics."""

from .celery import app as celery_app

__all__ = ("celery_app",)
