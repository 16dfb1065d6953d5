"""`manage.py reprocess_alert_deliveries`: retry deliveries whose processing kept failing.

They stay stored (a 202 is never dropped); after the cause is fixed this gives them new
attempts and processes everything pending. Prints one JSON line.
"""

import json

from django.core.management.base import BaseCommand

from alerts.models import RawEvent
from alerts.services import MAX_ATTEMPTS, pending_process


class Command(BaseCommand):
    help = "Give failed alert deliveries new attempts and process all pending deliveries."

    def handle(self, *args, **options):
        reset = RawEvent.objects.filter(
            processed_at__isnull=True, attempts__gte=MAX_ATTEMPTS
        ).update(attempts=0, error="")
        processed = pending_process()
        still_failed = RawEvent.objects.filter(
            processed_at__isnull=True, attempts__gte=MAX_ATTEMPTS
        ).count()
        self.stdout.write(
            json.dumps({"reset": reset, "processed": processed, "failed": still_failed})
        )
