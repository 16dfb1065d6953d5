"""`manage.py create_integration <kind> <name>`: one JSON line {id, kind, name, url, token}."""

import json

from django.core.management.base import BaseCommand, CommandError

from alerts.endpoints import ingest_url
from alerts.models import Integration, IntegrationKind
from alerts.services import integration_create
from catalog.models import Service
from incidents.models import Severity


class Command(BaseCommand):
    help = "Create an alert integration and print its URL and token (shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=IntegrationKind.values)
        parser.add_argument("name")
        parser.add_argument("--service", help="Slug of the default service.")
        parser.add_argument("--severity", choices=Severity.values, default=Severity.P2)
        parser.add_argument("--rate-limit", type=int, default=0, help="Alerts per minute.")

    def handle(self, *args, kind, name, service, severity, rate_limit, **options):
        if Integration.objects.filter(name=name.strip()).exists():
            raise CommandError(f"an integration named {name!r} already exists")
        default_service = None
        if service:
            default_service = Service.objects.filter(slug=service).first()
            if default_service is None:
                raise CommandError(f"no service with slug {service!r}")
        issued = integration_create(
            kind=kind,
            name=name,
            default_service=default_service,
            default_severity=severity,
            rate_limit_per_minute=max(rate_limit, 0),
        )
        line = {
            "id": issued.integration.pk,
            "kind": kind,
            "name": issued.integration.name,
            "url": ingest_url(kind),
            "token": issued.token,
        }
        self.stdout.write(json.dumps(line))
