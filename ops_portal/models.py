"""Rows the project package itself owns."""

from django.db import models


class WorkerHeartbeat(models.Model):
    """Last time a Celery worker ran the periodic heartbeat task (proves beat → broker → worker)."""

    worker = models.CharField(max_length=255, unique=True)
    last_seen = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.worker} @ {self.last_seen:%Y-%m-%d %H:%M:%S}"
