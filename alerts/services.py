"""Every write of the alerts app: integrations, folding deliveries into groups, routing, and
keeping incidents in step with their alert groups.

Processing a batch of deliveries happens in two kinds of transaction, so locks are always taken
in one order (groups by dedup key, then the routing lock, then the incident) and never cycle:
1. `pending_process` claims up to BATCH deliveries, folds their alerts into groups (locking the
   groups in dedup-key order) and marks the deliveries processed — all or nothing.
2. `group_sync` then runs once per touched group, in its own transaction: routes a new group
   (opening or attaching to an incident) and tells the incident about status changes. It is
   idempotent and state-based (`routed_at`, `synced_status`), so the sweeper can simply run it
   again for any group a crashed worker left behind.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from incidents.models import EventKind, Incident, Status
from incidents.services import (
    IllegalTransition,
    incident_declare,
    incident_transition,
    timeline_append,
)

from . import rules
from .models import (
    Alert,
    AlertAction,
    AlertGroup,
    GroupStatus,
    Integration,
    RawEvent,
    RouteAction,
)
from .sources import InvalidPayload, NormalizedAlert, load_json, parse
from .suppression import is_suppressed
from .tokens import token_digest, token_display_prefix, token_new

logger = logging.getLogger(__name__)

BATCH = 50
# A delivery whose processing failed this often is left alone (kept, with its error, for a
# person to look at) instead of blocking every batch behind it.
MAX_ATTEMPTS = 5
AUTO_RESOLVABLE = ("P2", "P3")


# --- Integrations -----------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedIntegration:
    """A created (or re-keyed) integration; `token` exists only here, never in the database."""

    integration: Integration
    token: str


def integration_create(
    *,
    kind: str,
    name: str,
    by=None,
    default_service=None,
    default_severity: str = "P2",
    severity_map: dict | None = None,
    rate_limit_per_minute: int = 0,
    auto_resolve_incidents: bool = False,
) -> IssuedIntegration:
    token = token_new()
    integration = Integration.objects.create(
        kind=kind,
        name=name.strip(),
        token_digest=token_digest(token),
        token_prefix=token_display_prefix(token),
        default_service=default_service,
        default_severity=default_severity,
        severity_map=severity_map or {},
        rate_limit_per_minute=rate_limit_per_minute,
        auto_resolve_incidents=auto_resolve_incidents,
        created_by=by if getattr(by, "pk", None) else None,
    )
    logger.info("integration %s (%s) created by %s", integration.pk, kind, by)
    return IssuedIntegration(integration=integration, token=token)


def integration_rotate_token(*, integration: Integration, by=None) -> IssuedIntegration:
    """Replace the token; the old one stops working at once."""
    token = token_new()
    Integration.objects.filter(pk=integration.pk).update(
        token_digest=token_digest(token),
        token_prefix=token_display_prefix(token),
        token_rotated_at=timezone.now(),
    )
    integration.refresh_from_db()
    logger.info("integration %s token rotated by %s", integration.pk, by)
    return IssuedIntegration(integration=integration, token=token)


def integration_set_enabled(*, integration: Integration, enabled: bool, by=None) -> Integration:
    integration.enabled = enabled
    integration.disabled_at = None if enabled else timezone.now()
    integration.save(update_fields=["enabled", "disabled_at"])
    logger.info("integration %s enabled=%s by %s", integration.pk, enabled, by)
    return integration


# --- Folding deliveries into groups ------------------------------------------------------------


def _event_digest(alert: NormalizedAlert) -> str:
    """What makes two events the same event (a retried PagerDuty delivery, say)."""
    essence = [
        alert.action,
        alert.summary,
        alert.severity,
        alert.source,
        alert.labels,
        alert.annotations,
        alert.starts_at.isoformat() if alert.starts_at else None,
    ]
    return hashlib.sha256(json.dumps(essence, sort_keys=True).encode()).hexdigest()


_CLAIM = (
    f"UPDATE {RawEvent._meta.db_table} SET processed_at = %s, attempts = attempts + 1 "  # noqa: S608 (model table name)
    f"WHERE id IN (SELECT id FROM {RawEvent._meta.db_table} WHERE processed_at IS NULL "
    "AND attempts < %s {older} ORDER BY id LIMIT %s {lock}) RETURNING id"
)
_CLAIM_ONE = (
    f"UPDATE {RawEvent._meta.db_table} SET processed_at = %s, attempts = attempts + 1 "  # noqa: S608 (model table name)
    "WHERE id = %s AND processed_at IS NULL RETURNING id"
)
_INSERT_GROUP = (
    f"INSERT INTO {AlertGroup._meta.db_table} "  # noqa: S608 (model table name)
    "(integration_id, dedup_key, status, title, source, source_severity, labels, annotations, "
    "links, alert_count, first_seen, last_seen, suppressed, synced_status, last_event_digest, "
    "severity, action) "
    "VALUES (%s, %s, 'firing', %s, %s, %s, %s, %s, %s, 0, %s, %s, false, '', '', '', '') "
    "ON CONFLICT (integration_id, dedup_key) WHERE NOT (status = 'resolved') DO NOTHING"
)
_INSERT_ALERT = (
    f"INSERT INTO {Alert._meta.db_table} "  # noqa: S608 (model table name)
    "(integration_id, group_id, raw_event_id, event_key, action, summary, labels, annotations, "
    "starts_at, ends_at, generator_url, payload, received_at) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (integration_id, event_key) WHERE event_key IS NOT NULL DO NOTHING RETURNING id"
)


def _dt(value: datetime | None):
    """A datetime as the backend stores it (SQLite: naive UTC text), for raw SQL."""
    return connection.ops.adapt_datetimefield_value(value) if value is not None else None


def _claim(*, now: datetime, older_than: datetime | None) -> list[int]:
    older = "AND received_at < %s" if older_than else ""
    # SKIP LOCKED lets several workers drain side by side; SQLite serializes writers anyway.
    lock = "FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    sql = _CLAIM.format(older=older, lock=lock)
    params = [_dt(now), MAX_ATTEMPTS, *([_dt(older_than)] if older_than else []), BATCH]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def _open_group_locked(integration_id: int, alert: NormalizedAlert, received_at) -> AlertGroup:
    """The open group for the alert's key, created if missing, locked for this transaction."""
    seen = alert.starts_at or received_at
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_GROUP,
            [
                integration_id,
                alert.dedup_key,
                alert.summary,
                alert.source[:255],
                alert.severity[:40],
                json.dumps(alert.labels),
                json.dumps(alert.annotations),
                json.dumps(alert.links),
                _dt(seen),
                _dt(seen),
            ],
        )
    return (
        AlertGroup.objects.select_for_update()
        .exclude(status=GroupStatus.RESOLVED)
        .get(integration_id=integration_id, dedup_key=alert.dedup_key)
    )


def _existing_open_group(integration_id: int, dedup_key: str) -> AlertGroup | None:
    return (
        AlertGroup.objects.select_for_update()
        .exclude(status=GroupStatus.RESOLVED)
        .filter(integration_id=integration_id, dedup_key=dedup_key)
        .first()
    )


def _store_alert(group: AlertGroup, alert: NormalizedAlert, raw_id: int, received_at) -> bool:
    """Store the alert event; False if the source already sent this very event."""
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_ALERT,
            [
                group.integration_id,
                group.pk,
                raw_id,
                alert.event_key,
                alert.action,
                alert.summary,
                json.dumps(alert.labels),
                json.dumps(alert.annotations),
                _dt(alert.starts_at),
                _dt(alert.ends_at),
                alert.generator_url[:2048],
                json.dumps(alert.payload),
                _dt(received_at),
            ],
        )
        return cursor.fetchone() is not None


def _fold(group: AlertGroup, alert: NormalizedAlert, digest: str, received_at) -> None:
    seen = alert.starts_at or received_at
    if alert.action == AlertAction.RESOLVE:
        seen = alert.ends_at or received_at
    group.last_seen = max(group.last_seen, seen, received_at)
    group.last_event_digest = digest
    if alert.action == AlertAction.TRIGGER:
        group.alert_count += 1
        group.title = alert.summary or group.title
        group.labels = alert.labels or group.labels
        group.annotations = alert.annotations or group.annotations
        group.source = alert.source[:255] or group.source
        group.source_severity = alert.severity[:40] or group.source_severity
        if alert.links:
            group.links = alert.links
    elif alert.action == AlertAction.ACKNOWLEDGE:
        if group.status == GroupStatus.FIRING:
            group.status = GroupStatus.ACKNOWLEDGED
            group.acknowledged_at = received_at
    elif alert.action == AlertAction.RESOLVE:
        group.status = GroupStatus.RESOLVED
        group.resolved_at = seen
    group.save()


def _fold_alert(*, integration_id: int, alert: NormalizedAlert, raw_id: int, received_at):
    """Fold one alert event into its group; returns the group id it touched, or None."""
    digest = _event_digest(alert)
    if alert.action == AlertAction.TRIGGER:
        group = _open_group_locked(integration_id, alert, received_at)
    else:
        # Acknowledge/resolve for a key with no open group: accepted and dropped (PagerDuty).
        group = _existing_open_group(integration_id, alert.dedup_key)
        if group is None:
            return None
    if alert.event_key is None and digest == group.last_event_digest:
        return None  # the same event again (a retried delivery)
    if not _store_alert(group, alert, raw_id, received_at):
        return None  # Alertmanager resending a known alert: not a new event
    _fold(group, alert, digest, received_at)
    return group.pk


def pending_process(*, older_than: datetime | None = None, now=None, max_batches=None) -> int:
    """Fold every unprocessed delivery into groups, then route and sync the touched groups.

    Returns the number of deliveries processed. Several workers may run this at once.
    """
    done = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        try:
            result = _process_batch(older_than=older_than, now=now)
        except Exception:
            # One bad delivery must not hold up the rest: redo this batch one by one.
            logger.exception("alert batch failed; processing its deliveries one at a time")
            result = _process_one_by_one(older_than=older_than, now=now)
        if result is None:
            break
        batches += 1
        done += result[0]
        _sync_all(result[1], now=now)
    return done


def _sync_all(group_ids, *, now) -> None:
    for group_id in sorted(group_ids):
        try:
            group_sync(group_id=group_id, now=now)
        except Exception:  # left unrouted/unsynced: the sweeper tries again
            logger.exception("could not sync alert group %s", group_id)


def _process_batch(*, older_than, now, only_id: int | None = None) -> tuple[int, set[int]] | None:
    with transaction.atomic():
        if only_id is None:
            ids = _claim(now=now or timezone.now(), older_than=older_than)
        else:
            with connection.cursor() as cursor:
                cursor.execute(_CLAIM_ONE, [_dt(now or timezone.now()), only_id])
                ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            return None
        raws = list(RawEvent.objects.filter(pk__in=ids).select_related("integration"))
        work = []
        for raw in raws:
            try:
                alerts = parse(
                    raw.integration.kind,
                    load_json(raw.body.encode()),
                    body_digest=raw.body_digest,
                )
            except (InvalidPayload, ValueError) as exc:
                # Validated before the 202, so only a parser change gets here: keep the row.
                RawEvent.objects.filter(pk=raw.pk).update(error=str(exc)[:2000])
                continue
            for position, alert in enumerate(alerts):
                work.append((alert.dedup_key, raw.integration_id, raw.pk, position, alert, raw))
        # One global lock order (dedup key, then arrival) so concurrent batches never deadlock,
        # while each key still sees its events in the order they arrived.
        work.sort(key=lambda item: (item[1], item[0], item[2], item[3]))
        touched: set[int] = set()
        for _key, integration_id, raw_id, _position, alert, raw in work:
            group_id = _fold_alert(
                integration_id=integration_id,
                alert=alert,
                raw_id=raw_id,
                received_at=raw.received_at,
            )
            if group_id is not None:
                touched.add(group_id)
    return len(ids), touched


def _process_one_by_one(*, older_than, now) -> tuple[int, set[int]] | None:
    """The next batch, each delivery in its own transaction; failures are counted on the row."""
    pending = RawEvent.objects.filter(processed_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
    if older_than is not None:
        pending = pending.filter(received_at__lt=older_than)
    ids = list(pending.order_by("pk").values_list("pk", flat=True)[:BATCH])
    if not ids:
        return None
    done, touched = 0, set()
    for raw_id in ids:
        try:
            result = _process_batch(older_than=None, now=now, only_id=raw_id)
        except Exception as exc:
            logger.exception("alert delivery %s failed", raw_id)
            RawEvent.objects.filter(pk=raw_id).update(
                attempts=F("attempts") + 1, error=f"{type(exc).__name__}: {exc}"[:2000]
            )
            continue
        if result is not None:
            done += result[0]
            touched |= result[1]
    return done, touched


def sweep(*, now=None) -> dict:
    """The beat's safety net: deliveries and groups a lost nudge or a dead worker left behind."""
    now = now or timezone.now()
    grace = now - timedelta(seconds=settings.ALERTS_SWEEP_GRACE_SECONDS)
    processed = pending_process(older_than=grace, now=now)
    stale = list(
        AlertGroup.objects.filter(routed_at__isnull=True, first_seen__lt=grace).values_list(
            "pk", flat=True
        )[:500]
    )
    unsynced = AlertGroup.objects.filter(incident__isnull=False, last_seen__lt=grace).exclude(
        synced_status=F("status")
    )
    stale += list(unsynced.values_list("pk", flat=True)[:500])
    for group_id in sorted(set(stale)):
        group_sync(group_id=group_id, now=now)
    return {"deliveries": processed, "groups": len(set(stale))}


def raw_events_prune(*, now=None) -> int:
    """Drop processed deliveries past retention (Idempotency-Key replays need ≥ 24 h)."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.ALERTS_RAW_RETENTION_DAYS)
    deleted, _ = RawEvent.objects.filter(processed_at__lt=cutoff, received_at__lt=cutoff).delete()
    return deleted


# --- Routing and incidents --------------------------------------------------------------------


def _routing_lock(group: AlertGroup, service) -> None:
    """Serialize routing decisions per service (or per integration when there is none), so two
    workers routing two new groups cannot both open an incident for the same outage.

    An advisory lock rather than the service row: public updates lock incident then service,
    and we take service then incident, which would be a lock cycle.
    """
    if connection.vendor != "postgresql":
        return  # SQLite serializes writers already
    scope = f"service:{service.pk}" if service else f"integration:{group.integration_id}"
    key = f"alerts-route:{scope}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [key])


def _open_alert_incident(group: AlertGroup, service) -> Incident | None:
    """The open incident that alerts for this service (or integration) already opened."""
    candidates = Incident.objects.open().filter(alert_groups__isnull=False)
    if service is not None:
        candidates = candidates.filter(services=service)
    else:
        candidates = candidates.filter(
            alert_groups__integration_id=group.integration_id, alert_groups__service__isnull=True
        )
    return candidates.order_by("-pk").distinct().first()


def _open_service_incident(service) -> Incident | None:
    if service is None:
        return None
    return Incident.objects.open().filter(services=service).order_by("severity", "-pk").first()


def _alert_event(group: AlertGroup, *, body: str, change: str, now, extra=None) -> None:
    timeline_append(
        incident_id=group.incident_id,
        kind=EventKind.ALERT,
        body=body,
        data={
            "group_id": group.pk,
            "integration": group.integration.name,
            "dedup_key": group.dedup_key,
            "status": group.status,
            "change": change,
            "count": group.alert_count,
            "labels": group.labels,
            **(extra or {}),
        },
        now=now,
    )


def _route_group(group: AlertGroup, now) -> None:
    decision = rules.route(group)
    group.routed_at = now
    group.service = decision.service
    group.severity = decision.severity
    group.action = decision.action
    group.rule = decision.rule
    group.suppressed = is_suppressed(service=decision.service, at=now)
    if not group.is_open or group.suppressed or decision.action == RouteAction.RECORD:
        return
    _routing_lock(group, decision.service)
    if decision.action == RouteAction.OPEN_INCIDENT:
        incident = _open_alert_incident(group, decision.service)
        if incident is None:
            incident = incident_declare(
                title=group.title[:200],
                severity=decision.severity,
                by=None,
                services=[decision.service] if decision.service else [],
                symptom=decision.symptom,
                impact_summary=group.annotations.get("description", "")[:2000],
                detected_at=group.first_seen,
                now=now,
            )
            change = "opened"
        else:
            change = "attached"
    else:  # attach
        incident = _open_service_incident(decision.service)
        change = "attached"
    if incident is None:
        return
    group.incident = incident
    group.synced_status = group.status
    _alert_event(
        group,
        body=f"Alert {group.status}: {group.title} ({group.integration.name})",
        change=change,
        now=now,
        extra={"severity": decision.severity, "rule": decision.rule.name if decision.rule else ""},
    )


def _sync_status(group: AlertGroup, now) -> None:
    """Tell the incident about a status change of one of its groups."""
    incident = Incident.objects.get(pk=group.incident_id)
    group.synced_status = group.status
    if incident.status == Status.CLOSED:
        return  # the record is final; the group page still shows the change
    _alert_event(group, body=f"Alert {group.status}: {group.title}", change=group.status, now=now)
    if group.status == GroupStatus.ACKNOWLEDGED and incident.status == Status.TRIGGERED:
        _transition(incident, Status.ACKNOWLEDGED, f"Acknowledged from {group.integration.name}.")
        return
    if group.status != GroupStatus.RESOLVED:
        return
    still_open = incident.alert_groups.exclude(status=GroupStatus.RESOLVED).count()
    if still_open or incident.status not in (
        Status.TRIGGERED,
        Status.ACKNOWLEDGED,
        Status.INVESTIGATING,
        Status.MITIGATING,
    ):
        return
    if group.integration.auto_resolve_incidents and incident.severity in AUTO_RESOLVABLE:
        _transition(incident, Status.RESOLVED, "All alerts resolved (auto-resolve is on).")
    else:
        timeline_append(
            incident_id=incident.pk,
            kind=EventKind.ALERT,
            body="All alerts of this incident have resolved. Consider resolving the incident "
            "once you have verified recovery.",
            data={"change": "all_resolved", "suggest": Status.RESOLVED},
            now=now,
        )


def _transition(incident: Incident, to: str, note: str) -> None:
    try:
        incident_transition(incident=incident, to=to, by=None, note=note)
    except IllegalTransition:
        logger.info("alert-driven move of %s to %s no longer allowed", incident.ref, to)


def group_sync(*, group_id: int, now=None) -> AlertGroup | None:
    """Route a new group and bring its incident up to date; safe to run any number of times."""
    now = now or timezone.now()
    with transaction.atomic():
        group = (
            AlertGroup.objects.select_for_update(of=("self",))
            .select_related("integration")
            .filter(pk=group_id)
            .first()
        )
        if group is None:
            return None
        if group.routed_at is None:
            _route_group(group, now)
        elif group.incident_id and group.synced_status != group.status:
            _sync_status(group, now)
        else:
            return group
        group.save()
    return group


# --- People acting on groups ------------------------------------------------------------------


class GroupResolved(Exception):
    """The group is already resolved; resolved groups are history."""


def group_acknowledge(*, group: AlertGroup, by, now=None) -> AlertGroup:
    now = now or timezone.now()
    with transaction.atomic():
        locked = AlertGroup.objects.select_for_update().get(pk=group.pk)
        if locked.status == GroupStatus.RESOLVED:
            raise GroupResolved("This alert group is resolved.")
        if locked.status == GroupStatus.FIRING:
            locked.status = GroupStatus.ACKNOWLEDGED
            locked.acknowledged_at = now
            locked.acknowledged_by = by
            locked.save()
    return group_sync(group_id=group.pk, now=now)


def group_resolve(*, group: AlertGroup, by, now=None) -> AlertGroup:
    now = now or timezone.now()
    with transaction.atomic():
        locked = AlertGroup.objects.select_for_update().get(pk=group.pk)
        if locked.status == GroupStatus.RESOLVED:
            raise GroupResolved("This alert group is already resolved.")
        locked.status = GroupStatus.RESOLVED
        locked.resolved_at = now
        locked.resolved_by = by
        locked.save()
    return group_sync(group_id=group.pk, now=now)


def group_link_incident(*, group: AlertGroup, incident: Incident, by, now=None) -> AlertGroup:
    """Attach a group to an incident by hand (e.g. a P3 that turned out to be the outage)."""
    now = now or timezone.now()
    if incident.status == Status.CLOSED:
        from incidents.services import IncidentClosed

        raise IncidentClosed(f"{incident.ref} is closed")
    with transaction.atomic():
        locked = (
            AlertGroup.objects.select_for_update(of=("self",))
            .select_related("integration")
            .get(pk=group.pk)
        )
        if locked.incident_id == incident.pk:
            return locked
        locked.incident = incident
        locked.synced_status = locked.status
        if locked.routed_at is None:
            locked.routed_at = now
        locked.save()
        timeline_append(
            incident_id=incident.pk,
            kind=EventKind.ALERT,
            body=f"Alert group linked by {by.username}: {locked.title}",
            data={
                "group_id": locked.pk,
                "integration": locked.integration.name,
                "dedup_key": locked.dedup_key,
                "status": locked.status,
                "change": "linked",
                "count": locked.alert_count,
            },
            author=by,
            now=now,
        )
    return locked
