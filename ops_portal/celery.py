"""The Celery application: broker from settings (Redis or the embedded filesystem transport).

Tasks are thin wrappers over services, take ids, and are idempotent. `RedeliveryCappedTask` is
the base for every task: with `acks_late` + `reject_on_worker_lost` a task that kills its worker
is delivered again, which would loop forever on a poison message; the cap stops that.
"""

from __future__ import annotations

import logging
import os

from celery import Celery, Task
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ops_portal.settings")

logger = logging.getLogger(__name__)


class RedeliveryCappedTask(Task):
    """Drop a task whose message has been delivered more than CELERY_TASK_MAX_REDELIVERIES times."""

    def __call__(self, *args, **kwargs):
        from django.conf import settings
        from django.core.cache import cache

        task_id = self.request.id
        if task_id and not self.request.is_eager:
            key = f"celery:deliveries:{task_id}"
            # add() then incr(): atomic on Redis, per process with the local-memory cache.
            cache.add(key, 0, timeout=24 * 3600)
            deliveries = cache.incr(key)
            if deliveries > settings.CELERY_TASK_MAX_REDELIVERIES + 1:
                logger.error(
                    "dropping task %s[%s]: delivered %d times", self.name, task_id, deliveries
                )
                return None
        return super().__call__(*args, **kwargs)


app = Celery("ops_portal", task_cls=RedeliveryCappedTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _schedule_periodic_tasks(sender: Celery, **_kwargs) -> None:
    from django.conf import settings

    sender.add_periodic_task(
        settings.WORKER_HEARTBEAT_SECONDS,
        sender.signature("ops_portal.tasks.record_heartbeat"),
        name="worker heartbeat",
    )
    sender.add_periodic_task(
        settings.ESCALATION_SWEEP_SECONDS,
        sender.signature("incidents.escalate_overdue"),
        name="escalate overdue incidents and tasks",
    )
    sender.add_periodic_task(
        settings.ALERTS_SWEEP_SECONDS,
        sender.signature("alerts.sweep"),
        name="process alert deliveries and groups left behind",
    )
    sender.add_periodic_task(
        3600, sender.signature("alerts.prune_raw_events"), name="prune old alert deliveries"
    )
    sender.add_periodic_task(
        settings.DIAGNOSTICS_SWEEP_SECONDS,
        sender.signature("diagnostics.sweep"),
        name="re-send lost probe runs, close dead ones, run due verification watches",
    )
    sender.add_periodic_task(
        300,
        sender.signature("maintenance.backup_sweep"),
        name="start due backup checks, re-send or close lost ones",
    )
    sender.add_periodic_task(
        settings.MAINTENANCE_NOTICE_SWEEP_SECONDS,
        sender.signature("maintenance.send_notices"),
        name="send maintenance notices due 24 h ahead",
    )
    sender.add_periodic_task(
        settings.POSTMORTEM_REMINDER_SWEEP_SECONDS,
        sender.signature("postmortems.sweep"),
        name="create missed postmortems, remind owners of due postmortems and action items",
    )
    sender.add_periodic_task(
        settings.STATUSPAGE_DELIVERY_SWEEP_SECONDS,
        sender.signature("statuspage.subscriptions_sweep"),
        name="fan out missed status page notices, retry due subscriber deliveries",
    )
    sender.add_periodic_task(
        300,
        sender.signature("statuspage.uptime_refresh"),
        name="recompute the status page's uptime days that can have changed",
    )
    sender.add_periodic_task(
        300,
        sender.signature("statuspage.stale_flags"),
        name="flag components left non-operational without a public update",
    )


@worker_ready.connect
def _heartbeat_on_start(sender, **_kwargs) -> None:
    # Through the broker, not a direct call: the first heartbeat proves the whole path.
    sender.app.send_task("ops_portal.tasks.record_heartbeat")
