"""Writes of the accounts app: tokens, roles, demo users."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone

from .models import ApiToken, User
from .permissions import ROLE_PERMS, Role

TOKEN_PREFIX = "opt_"


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    """A newly created token: `raw` exists only here, never in the database."""

    token: ApiToken
    raw: str


def api_token_create(*, user: User, name: str, expires_at: datetime | None = None) -> IssuedToken:
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name.strip()[:100] or "token",
        prefix=raw[: len(TOKEN_PREFIX) + 8],
        digest=token_digest(raw),
        expires_at=expires_at,
    )
    return IssuedToken(token=token, raw=raw)


def api_token_revoke(*, token: ApiToken, now: datetime | None = None) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = now or timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_token_authenticate(*, raw: str, now: datetime | None = None) -> ApiToken | None:
    """Return the active token for `raw` (with its user loaded), or None."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    now = now or timezone.now()
    token = (
        ApiToken.objects.active(now)
        .select_related("user")
        .filter(digest=token_digest(raw), user__is_active=True)
        .first()
    )
    if token is None:
        return None
    resolution = settings.API_TOKEN_LAST_USED_RESOLUTION
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() >= resolution:
        # A conditional UPDATE, so concurrent requests don't all write.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def role_groups_sync() -> dict[Role, Group]:
    """Create the four role groups and give each exactly its permissions (idempotent)."""
    perms = {p.codename: p for p in Permission.objects.filter(content_type__app_label="accounts")}
    groups = {}
    for role, role_perms in ROLE_PERMS.items():
        group, _ = Group.objects.get_or_create(name=role.value)
        group.permissions.set([perms[perm.value] for perm in role_perms if perm.value in perms])
        groups[role] = group
    return groups


@transaction.atomic
def user_set_role(*, user: User, role: Role) -> User:
    """Make `user` hold exactly `role` (one role group); admins also get the admin site."""
    groups = role_groups_sync()
    user.groups.remove(*[group for r, group in groups.items() if r != role])
    user.groups.add(groups[role])
    is_staff = role == Role.ADMIN
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])
    return user
