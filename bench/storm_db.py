"""The storm's scratch PostgreSQL database: create it fresh, count what the portal stored.

The benchmark reads the portal's tables directly with psycopg (not through Django), so it sees
exactly what has been committed, whichever process wrote it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from bench.errors import BenchError


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def database_name(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if not name:
        raise BenchError(f"the storm database URL names no database: {url}")
    return name


def recreate(url: str) -> None:
    """Drop (if it exists) and create the scratch database named by `url`."""
    name = database_name(url)
    try:
        with psycopg.connect(_with_database(url, "postgres"), autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        raise BenchError(f"cannot recreate database {name!r}: {exc}") from exc


def drop(url: str) -> None:
    name = database_name(url)
    try:
        with psycopg.connect(_with_database(url, "postgres"), autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    except psycopg.Error as exc:
        raise BenchError(f"cannot drop database {name!r}: {exc}") from exc


@dataclass(frozen=True)
class Counts:
    alerts: int  # alerts_alert rows of the integration
    groups: int  # alerts_alertgroup rows
    unrouted: int  # groups not yet routed (routed_at NULL)
    deliveries: int  # alerts_rawevent rows
    pending: int  # deliveries not yet processed
    errored: int  # deliveries the worker could not parse
    alert_count_sum: int  # sum of the groups' alert_count
    incidents: int  # distinct incidents the groups are attached to


_COUNTS = """
SELECT
  (SELECT count(*) FROM alerts_alert WHERE integration_id = %(id)s),
  (SELECT count(*) FROM alerts_alertgroup WHERE integration_id = %(id)s),
  (SELECT count(*) FROM alerts_alertgroup WHERE integration_id = %(id)s AND routed_at IS NULL),
  (SELECT count(*) FROM alerts_rawevent WHERE integration_id = %(id)s),
  (SELECT count(*) FROM alerts_rawevent WHERE integration_id = %(id)s AND processed_at IS NULL),
  (SELECT count(*) FROM alerts_rawevent WHERE integration_id = %(id)s AND error <> ''),
  (SELECT coalesce(sum(alert_count), 0) FROM alerts_alertgroup WHERE integration_id = %(id)s),
  (SELECT count(DISTINCT incident_id) FROM alerts_alertgroup
    WHERE integration_id = %(id)s AND incident_id IS NOT NULL)
"""


class Watcher:
    """Polls the counts of one integration every `interval` seconds in a thread, from the
    storm's start, and notes when every alert was stored with no delivery left pending
    (grouped) and when every group was routed too."""

    def __init__(self, url: str, integration_id: int, *, expected_alerts: int, interval=0.05):
        self.url = url
        self.integration_id = integration_id
        self.expected_alerts = expected_alerts
        self.interval = interval
        self.started_at: float | None = None
        self.grouped_after: float | None = None
        self.routed_after: float | None = None
        self.polls = 0
        self.error = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._connection = psycopg.connect(url, autocommit=True)

    def counts(self) -> Counts:
        row = self._connection.execute(_COUNTS, {"id": self.integration_id}).fetchone()
        return Counts(*row)

    def start(self, started_at: float) -> None:
        """Called by the client at its start signal (time.monotonic())."""
        self.started_at = started_at
        self._thread = threading.Thread(target=self._poll, name="storm-watcher", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        assert self.started_at is not None
        try:
            while not self._stop.is_set():
                counts = self.counts()
                now = time.monotonic()
                self.polls += 1
                if (
                    self.grouped_after is None
                    and counts.alerts >= self.expected_alerts
                    and counts.pending == 0
                ):
                    self.grouped_after = now - self.started_at
                if self.grouped_after is not None and counts.unrouted == 0:
                    self.routed_after = now - self.started_at
                    return
                self._stop.wait(max(0.0, self.interval - (time.monotonic() - now)))
        except psycopg.Error as exc:
            self.error = str(exc)

    def wait(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self._connection.close()
