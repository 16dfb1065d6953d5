"""Wake the worker after an accepted delivery without putting the broker on the request path.

Each web process has one daemon thread that sends a `process_pending` task at most once per
coalescing interval. The accept path only sets an Event. Every delivery committed before the
Event is set is visible to the drain that the following send starts, because the thread clears
the Event before sending. If the broker is down the send fails here, not in the request, and the
beat sweeper picks the rows up later.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from django.conf import settings

logger = logging.getLogger(__name__)

_pending = threading.Event()
_thread: threading.Thread | None = None
_owner_pid: int | None = None
_lock = threading.Lock()


def _send() -> None:
    from .tasks import process_pending

    process_pending.apply_async(retry=False)


def _loop() -> None:
    interval = settings.ALERTS_NUDGE_COALESCE_SECONDS
    while True:
        _pending.wait()
        time.sleep(interval)  # let a burst of deliveries share one nudge
        _pending.clear()
        try:
            _send()
        except Exception:
            logger.warning("could not queue alert processing; the sweeper will", exc_info=True)


def nudge_worker() -> None:
    """Ask for the pending deliveries to be processed soon (never blocks, never raises)."""
    global _thread, _owner_pid
    if settings.ALERTS_PROCESS_INLINE:
        from .services import pending_process

        pending_process()
        return
    pid = os.getpid()
    if _owner_pid != pid:  # first call, or first call after a fork
        with _lock:
            if _owner_pid != pid:
                _pending.clear()
                _thread = threading.Thread(target=_loop, name="alerts-nudge", daemon=True)
                _thread.start()
                _owner_pid = pid
    _pending.set()
