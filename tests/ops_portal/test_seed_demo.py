"""`seed_demo` is idempotent and gives each demo user the role named after them."""

from __future__ import annotations

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command

from accounts.models import User
from accounts.permissions import Role, user_role
from catalog.models import Service, Target, TargetKind

pytestmark = pytest.mark.django_db


def _seed() -> None:
    call_command("seed_demo", stdout=StringIO())


def test_seed_demo_creates_the_four_demo_users_with_their_roles():
    _seed()
    for role in Role:
        user = User.objects.get(username=role.value)
        assert user_role(user) == role
        assert user.check_password(settings.DEMO_PASSWORD)
    assert User.objects.get(username="admin").is_staff


def test_seed_demo_creates_a_catalog_with_every_target_kind():
    _seed()
    assert (
        Service.objects.filter(slug__in=["checkout", "payments", "search", "orders"]).count() == 4
    )
    kinds = set(Target.objects.values_list("kind", flat=True))
    assert kinds == set(TargetKind.values)


def test_seed_demo_is_idempotent_and_keeps_changed_passwords():
    _seed()
    admin = User.objects.get(username="admin")
    admin.set_password("changed-by-the-admin")
    admin.save()
    counts = (User.objects.count(), Service.objects.count(), Target.objects.count())
    _seed()
    _seed()
    assert (User.objects.count(), Service.objects.count(), Target.objects.count()) == counts
    assert User.objects.get(username="admin").check_password("changed-by-the-admin")


def test_seed_demo_creates_demo_incidents_once_with_contiguous_timelines():
    from incidents.models import Incident
    from incidents.selectors import timeline_problems

    _seed()
    statuses = set(Incident.objects.values_list("status", flat=True))
    assert {"resolved", "investigating", "triggered"} <= statuses
    count = Incident.objects.count()
    _seed()
    assert Incident.objects.count() == count
    assert timeline_problems() == []


def test_seed_demo_creates_demo_alerts_once():
    from alerts.models import AlertGroup, Integration

    _seed()
    assert Integration.objects.count() == 2
    groups = AlertGroup.objects.count()
    assert groups == 4
    search = AlertGroup.objects.get(labels__alertname="HighLatencyP95")
    assert search.incident is not None and search.incident.title.startswith("Search")
    _seed()
    assert (Integration.objects.count(), AlertGroup.objects.count()) == (2, groups)


def test_seed_demo_plans_an_upcoming_and_a_finished_maintenance_once():
    from maintenance.models import MaintenanceWindow

    _seed()
    states = sorted(MaintenanceWindow.objects.values_list("state", flat=True))
    assert states == ["completed", "scheduled"]
    upcoming = MaintenanceWindow.objects.get(state="scheduled")
    assert upcoming.public and upcoming.checklist.filter(done_at__isnull=False).count() == 2
    _seed()
    assert MaintenanceWindow.objects.count() == 2
