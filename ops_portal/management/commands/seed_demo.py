"""`manage.py seed_demo`: demo users (one per role), teams and a realistic catalog. Idempotent."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import Team, User
from accounts.permissions import Role
from accounts.services import role_groups_sync, user_set_role
from alerts.ingest import delivery_record
from alerts.models import Integration, RoutingRule
from alerts.services import integration_create, pending_process
from catalog.models import Service, ServiceGroup, Target
from catalog.services import target_create, target_update
from incidents.models import Incident
from incidents.services import (
    incident_declare,
    incident_transition,
    note_add,
    public_update_post,
    task_complete,
)
from maintenance import services as maintenance
from maintenance.models import MaintenanceWindow, Phase
from ops_portal import demo_data

DEMO_USERS = [
    ("admin", Role.ADMIN, "Ada", "Admin", ["platform"]),
    ("commander", Role.COMMANDER, "Casey", "Commander", ["payments", "storefront"]),
    ("responder", Role.RESPONDER, "Riley", "Responder", ["payments"]),
    ("viewer", Role.VIEWER, "Vic", "Viewer", []),
]


class Command(BaseCommand):
    help = "Create the demo users admin/commander/responder/viewer and the demo catalog."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            default=None,
            help="Password for the demo users (default: settings.DEMO_PASSWORD).",
        )

    @transaction.atomic
    def handle(self, *args, password=None, **options):
        password = password or settings.DEMO_PASSWORD
        role_groups_sync()
        teams = {}
        for spec in demo_data.TEAMS:
            team, _ = Team.objects.update_or_create(
                slug=spec["slug"],
                defaults={k: v for k, v in spec.items() if k != "slug"},
            )
            teams[team.slug] = team

        for username, role, first, last, team_slugs in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@example.com",
                },
            )
            if created or not user.has_usable_password():
                user.set_password(password)
                user.save()
            user.is_superuser = role == Role.ADMIN
            user.save(update_fields=["is_superuser"])
            user_set_role(user=user, role=role)
            user.teams.add(*[teams[slug] for slug in team_slugs])

        groups = {}
        for spec in demo_data.GROUPS:
            group, _ = ServiceGroup.objects.update_or_create(
                slug=spec["slug"], defaults={"name": spec["name"], "position": spec["position"]}
            )
            groups[group.slug] = group

        for spec in demo_data.SERVICES:
            service, _ = Service.objects.update_or_create(
                slug=spec["slug"],
                defaults={
                    "name": spec["name"],
                    "description": spec["description"],
                    "group": groups[spec["group"]],
                    "owner_team": teams[spec["team"]],
                    "component_name": spec["component_name"],
                    "position": spec["position"],
                    "show_on_status_page": spec.get("show_on_status_page", True),
                },
            )
            for name, kind, config in spec["targets"]:
                config = _with_portal_url(config)
                existing = Target.objects.filter(service=service, name=name).first()
                if existing is None:
                    target_create(service=service, name=name, kind=kind, config=config)
                else:
                    target_update(target=existing, kind=kind, config=config)

        _ensure_broker_folders()  # declared demo incidents send their runbooks' probes
        if not Incident.objects.exists():
            self._seed_incidents()
        if not Integration.objects.exists():
            self._seed_alerts()
        if not MaintenanceWindow.objects.exists():
            self._seed_maintenance()

        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {User.objects.count()} users, "
                f"{Service.objects.count()} services, {Target.objects.count()} targets."
            )
        )

    def _seed_incidents(self) -> None:
        """A few incidents in different states, so the workspace is not empty on first run."""
        now = timezone.now()
        commander = User.objects.get(username="commander")
        responder = User.objects.get(username="responder")
        services = {service.slug: service for service in Service.objects.all()}

        past = now - timedelta(days=2, hours=3)
        resolved = incident_declare(
            title="Card payments failing with processor timeouts",
            severity="P0",
            by=commander,
            commander=commander,
            symptom="service_unavailable",
            services=[services["payments"]],
            customer_facing=True,
            now=past,
        )
        for minutes, to in (
            (4, "acknowledged"),
            (9, "investigating"),
            (25, "mitigating"),
            (52, "resolved"),
        ):
            incident_transition(
                incident=resolved,
                to=to,
                by=commander,
                now=past + timedelta(minutes=minutes),
                # P0 needs evidence to start mitigating (a finished diagnosis) or a reason.
                waiver="The processor's own status page confirms the outage; failing over now."
                if to == "mitigating"
                else "",
            )
        note_add(
            incident=resolved,
            by=responder,
            now=past + timedelta(minutes=12),
            body="Processor latency p99 at **28 s**; connection pool to the processor exhausted.",
        )

        started = now - timedelta(minutes=42)
        active = incident_declare(
            title="Search results slow (p95 > 4 s)",
            severity="P1",
            by=commander,
            commander=commander,
            symptom="high_latency",
            services=[services["search"]],
            customer_facing=True,
            now=started,
        )
        incident_transition(
            incident=active, to="acknowledged", by=responder, now=started + timedelta(minutes=3)
        )
        incident_transition(
            incident=active, to="investigating", by=commander, now=started + timedelta(minutes=8)
        )
        for task in active.tasks.filter(step="acknowledge"):
            task_complete(task=task, by=commander, now=started + timedelta(minutes=10))
        note_add(
            incident=active,
            by=responder,
            now=started + timedelta(minutes=15),
            body="Cache hit rate dropped from 92% to 40% after the 14:05 deploy.",
        )
        public_update_post(
            incident=active,
            by=commander,
            status="identified",
            component_status="degraded_performance",
            now=started + timedelta(minutes=20),
            body="Search is slower than usual. We have identified the cause and are fixing it.",
        )

        incident_declare(
            title="Order confirmation emails delayed",
            severity="P2",
            by=responder,
            commander=commander,
            symptom="consumer_lag",
            services=[services["notifications-email"], services["orders"]],
            now=now - timedelta(minutes=6),
        )

    def _seed_maintenance(self) -> None:
        """An upcoming public window half-way through its checklist, and a finished one."""
        now = timezone.now().replace(minute=0, second=0, microsecond=0)
        commander = User.objects.get(username="commander")
        services = {service.slug: service for service in Service.objects.all()}
        start = (now + timedelta(days=2)).replace(hour=22)
        upcoming = maintenance.window_create(
            title="PostgreSQL 16 upgrade for Orders",
            description="We are upgrading the orders database. Order history may be read-only "
            "for up to **30 minutes**; checkout keeps working.",
            services=[services["orders"]],
            scheduled_start=start,
            scheduled_end=start + timedelta(hours=2),
            rollback_plan="Keep the old primary running read-only; if checks fail, point "
            "`orders-db` back at it (5 min) and restore writes.",
            by=commander,
        )
        for item in upcoming.checklist.filter(phase=Phase.PRE)[:2]:
            maintenance.checklist_item_set(item=item, done=True, by=commander)

        past = (now - timedelta(days=6)).replace(hour=21)
        done = maintenance.window_create(
            title="Internal admin: move to the new cluster",
            services=[services["internal-admin"]],
            scheduled_start=past,
            scheduled_end=past + timedelta(hours=1),
            rollback_plan="Switch the DNS record back to the old cluster.",
            public=False,
            by=commander,
            now=past - timedelta(days=2),
        )
        for phase in (Phase.PRE, Phase.POST):
            for item in done.checklist.filter(phase=phase):
                maintenance.checklist_item_set(item=item, done=True, by=commander, now=past)
        maintenance.window_start(window=done, by=commander, now=past)
        maintenance.window_verify(window=done, by=commander, now=past + timedelta(minutes=40))
        maintenance.window_complete(window=done, by=commander, now=past + timedelta(minutes=50))

    def _seed_alerts(self) -> None:
        """Two integrations and a few alert groups. Their tokens are not shown: rotate one on
        the integration page to point a real tool at it."""
        now = timezone.now()
        services = {service.slug: service for service in Service.objects.all()}
        prometheus = integration_create(
            kind="alertmanager", name="Prometheus (demo)", default_service=services["checkout"]
        ).integration
        pagerduty = integration_create(
            kind="pagerduty", name="Events API (demo)", default_service=services["payments"]
        ).integration
        RoutingRule.objects.create(
            integration=prometheus,
            position=1,
            name="Database alerts are the orders team's",
            conditions=[{"field": "labels.alertname", "op": "regex", "value": "^Postgres"}],
            service=services["orders"],
            symptom="slow_queries",
        )

        def am_alert(name, service, severity, minutes_ago, status="firing", **labels):
            starts = (now - timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z")
            return {
                "status": status,
                "labels": {"alertname": name, "service": service, "severity": severity, **labels},
                "annotations": {"summary": f"{name} on {service}"},
                "startsAt": starts,
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.example.com/graph",
            }

        latency = am_alert("HighLatencyP95", "search", "warning", 40, instance="search-7f9c")
        restarts = am_alert("PodRestarting", "checkout", "info", 90, pod="checkout-web-5d8")
        deliveries = [
            (prometheus, {"alerts": [latency, restarts]}),
            (prometheus, {"alerts": [am_alert("PostgresSlowQueries", "orders", "warning", 12)]}),
            (prometheus, {"alerts": [{**restarts, "status": "resolved"}]}),
            (
                pagerduty,
                {
                    "routing_key": "demo",
                    "event_action": "trigger",
                    "dedup_key": "payments-timeouts",
                    "payload": {
                        "summary": "Payment processor timeouts above 2%",
                        "source": "payments-gateway",
                        "severity": "error",
                        "component": "processor",
                    },
                },
            ),
        ]
        for integration, payload in deliveries:
            delivery_record(integration=integration, payload=payload)
        pending_process()


def _with_portal_url(config: dict) -> dict:
    """Fill in where `make run` serves the portal (HOST/PORT as the Makefile passes them)."""
    host = os.environ.get("HOST", "127.0.0.1")
    portal = f"http://{host}:{os.environ.get('PORT', '8000')}"
    return {
        key: value.replace("{portal}", portal) if isinstance(value, str) else value
        for key, value in config.items()
    }


def _ensure_broker_folders() -> None:
    """The embedded filesystem broker needs its folders before anything is sent through it."""
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        for key in ("data_folder_out", "control_folder"):
            Path(options[key]).mkdir(parents=True, exist_ok=True)
