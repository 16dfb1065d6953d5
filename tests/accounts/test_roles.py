"""The four roles as groups with permissions, and the role ladder."""

from __future__ import annotations

import itertools

import pytest
from django.contrib.auth.models import Group

from accounts.permissions import ROLE_PERMS, Perm, Role, user_has_perm, user_role
from accounts.services import role_groups_sync, user_set_role

pytestmark = pytest.mark.django_db


def test_migrate_creates_the_four_role_groups_with_their_permissions():
    for role, perms in ROLE_PERMS.items():
        group = Group.objects.get(name=role.value)
        codenames = set(group.permissions.values_list("codename", flat=True))
        assert codenames == {perm.value for perm in perms}


def test_each_role_has_every_permission_of_the_role_below():
    ladder = [
        ROLE_PERMS[role] for role in (Role.VIEWER, Role.RESPONDER, Role.COMMANDER, Role.ADMIN)
    ]
    for lower, higher in itertools.pairwise(ladder):
        assert lower < higher


def test_sync_is_idempotent_and_repairs_drift():
    group = Group.objects.get(name="viewer")
    group.permissions.clear()
    role_groups_sync()
    role_groups_sync()
    assert group.permissions.count() == len(ROLE_PERMS[Role.VIEWER])
    assert Group.objects.filter(name__in=[r.value for r in Role]).count() == 4


@pytest.mark.parametrize(
    ("role", "perm", "allowed"),
    [
        (Role.VIEWER, Perm.CATALOG_READ, True),
        (Role.VIEWER, Perm.INCIDENTS_RESPOND, False),
        (Role.RESPONDER, Perm.INCIDENTS_RESPOND, True),
        (Role.RESPONDER, Perm.INCIDENTS_COMMAND, False),
        (Role.COMMANDER, Perm.INCIDENTS_COMMAND, True),
        (Role.COMMANDER, Perm.CATALOG_MANAGE, False),
        (Role.ADMIN, Perm.CATALOG_MANAGE, True),
        (Role.ADMIN, Perm.USERS_MANAGE, True),
    ],
)
def test_permissions_follow_roles(make_user, role, perm, allowed):
    assert user_has_perm(make_user(role), perm) is allowed


def test_changing_role_replaces_the_previous_one(make_user):
    user = make_user(Role.ADMIN)
    assert user.is_staff
    user_set_role(user=user, role=Role.VIEWER)
    user = type(user).objects.get(pk=user.pk)
    assert user_role(user) == Role.VIEWER
    assert not user.is_staff
    assert not user_has_perm(user, Perm.CATALOG_MANAGE)


def test_inactive_user_has_no_role_or_permissions(make_user):
    user = make_user(Role.COMMANDER)
    user.is_active = False
    user.save()
    assert user_role(user) is None
    assert not user_has_perm(user, Perm.CATALOG_READ)
