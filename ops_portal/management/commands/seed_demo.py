"""`manage.py seed_demo`: demo users (one per role), teams and a realistic catalog. Idempotent."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Team, User
from accounts.permissions import Role
from accounts.services import role_groups_sync, user_set_role
from catalog.models import Service, ServiceGroup, Target
from catalog.services import target_create, target_update
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
                existing = Target.objects.filter(service=service, name=name).first()
                if existing is None:
                    target_create(service=service, name=name, kind=kind, config=config)
                else:
                    target_update(target=existing, kind=kind, config=config)

        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {User.objects.count()} users, "
                f"{Service.objects.count()} services, {Target.objects.count()} targets."
            )
        )
