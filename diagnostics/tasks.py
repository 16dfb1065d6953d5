"""Celery tasks of diagnostics: thin wrappers over services.

Probe runs go to their own queue (DIAGNOSTICS_QUEUE), consumed by the `probes` process of the
Procfile: a thread-pool worker, because probes spend their time waiting on sockets and a set
must run side by side, not two at a time on the prefork worker's two slots.
"""

from __future__ import annotations

from celery import group, shared_task
from django.conf import settings

from . import remediation, services, verification


@shared_task(name="diagnostics.run_probe")
def run_probe(run_id: int) -> str | None:
    run = services.run_execute(run_id)
    return run.status if run else None


def send_runs(run_ids: list[int]) -> None:
    """One task per run, sent as a Celery group so the runs start together."""
    group(run_probe.si(run_id) for run_id in run_ids).apply_async(queue=settings.DIAGNOSTICS_QUEUE)


@shared_task(name="diagnostics.sweep")
def sweep() -> dict:
    report = services.sweep()
    report["watches"] = verification.watches_due()
    report["actions"] = remediation.sweep()
    report["previews_expired"] = remediation.expire_previews()
    return report


# The rollback workflow may wait up to 30 min for a rollout; the limit stays below Redis'
# visibility timeout (1 h), or the broker would hand the task to a second worker meanwhile.
@shared_task(name="diagnostics.execute_action", time_limit=2400, soft_time_limit=2340)
def execute_action(request_id: int) -> str | None:
    """Runs on the default worker (not the probes queue): actions are few and may take minutes."""
    request = remediation.action_execute(request_id)
    return request.state if request else None
