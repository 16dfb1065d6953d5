"""Roles and permissions: one enum of permissions, four roles, and the checks every view uses.

Roles are Django groups holding Django permissions (codenames = `Perm` values, declared on
`accounts.User`), so the admin site, `user.has_perm` and our checks agree. The role ladder is
viewer < responder < commander < admin; each role has every permission of the one below.

Pages use `@require_perm(Perm.X)` / `PermRequiredMixin`; API views declare
`permission_map = {action: [Perm.X, ...]}` and `DeclaredPermissions` enforces it, failing closed
for any action not declared.
"""

from __future__ import annotations

import enum
from functools import wraps

from django.core.exceptions import PermissionDenied
from rest_framework import permissions as drf_permissions


def _login_redirect(request):
    # Imported here: auth views pull in the user model, which imports this module.
    from django.contrib.auth.views import redirect_to_login

    return redirect_to_login(request.get_full_path())


class Perm(enum.StrEnum):
    CATALOG_READ = "catalog_read"
    CATALOG_MANAGE = "catalog_manage"
    INCIDENTS_READ = "incidents_read"
    INCIDENTS_RESPOND = "incidents_respond"
    INCIDENTS_COMMAND = "incidents_command"
    ALERTS_READ = "alerts_read"
    INTEGRATIONS_MANAGE = "integrations_manage"
    DIAGNOSTICS_READ = "diagnostics_read"
    DIAGNOSTICS_RUN = "diagnostics_run"
    DIAGNOSTICS_START = "diagnostics_start"
    RUNBOOKS_MANAGE = "runbooks_manage"
    REMEDIATION_REQUEST = "remediation_request"
    REMEDIATION_APPROVE = "remediation_approve"
    MAINTENANCE_READ = "maintenance_read"
    MAINTENANCE_WORK = "maintenance_work"
    MAINTENANCE_MANAGE = "maintenance_manage"
    MAINTENANCE_OVERRIDE = "maintenance_override"
    POSTMORTEMS_READ = "postmortems_read"
    POSTMORTEMS_WRITE = "postmortems_write"
    POSTMORTEMS_PUBLISH = "postmortems_publish"
    INSIGHTS_READ = "insights_read"
    STATUSPAGE_MANAGE = "statuspage_manage"
    USERS_MANAGE = "users_manage"
    API_TOKENS_OWN = "api_tokens_own"


PERM_DESCRIPTIONS: dict[Perm, str] = {
    Perm.CATALOG_READ: "Read services and diagnostic targets",
    Perm.CATALOG_MANAGE: "Create and change services and diagnostic targets",
    Perm.INCIDENTS_READ: "Read incidents and their timelines",
    Perm.INCIDENTS_RESPOND: "Work incidents: notes, tasks, join as responder",
    Perm.INCIDENTS_COMMAND: "Command incidents: declare, transition, public updates",
    Perm.ALERTS_READ: "Read alerts and alert groups",
    Perm.INTEGRATIONS_MANAGE: "Create, rotate and disable alert integrations",
    Perm.DIAGNOSTICS_READ: "Read probe runs and runbooks",
    Perm.DIAGNOSTICS_RUN: "Re-run a probe already run on an incident",
    Perm.DIAGNOSTICS_START: "Start runbooks, single probes and service health checks",
    Perm.RUNBOOKS_MANAGE: "Create and edit runbooks",
    Perm.REMEDIATION_REQUEST: "Request remediation actions",
    Perm.REMEDIATION_APPROVE: "Approve and execute remediation actions",
    Perm.MAINTENANCE_READ: "Read maintenance windows",
    Perm.MAINTENANCE_WORK: "Tick maintenance checklist items and add notes to a window's log",
    Perm.MAINTENANCE_MANAGE: "Plan, start, extend, complete and cancel maintenance windows",
    Perm.MAINTENANCE_OVERRIDE: "Start or complete a window with required checklist items open",
    Perm.POSTMORTEMS_READ: "Read postmortems and action items",
    Perm.POSTMORTEMS_WRITE: "Write postmortems and action items",
    Perm.POSTMORTEMS_PUBLISH: "Review and publish postmortems",
    Perm.INSIGHTS_READ: "Read the insights dashboard and its figures",
    Perm.STATUSPAGE_MANAGE: "Configure the public status page",
    Perm.USERS_MANAGE: "Manage users, teams and roles",
    Perm.API_TOKENS_OWN: "Create and revoke one's own API tokens",
}


class Role(enum.StrEnum):
    VIEWER = "viewer"
    RESPONDER = "responder"
    COMMANDER = "commander"
    ADMIN = "admin"


ROLE_ORDER = (Role.VIEWER, Role.RESPONDER, Role.COMMANDER, Role.ADMIN)

_VIEWER = {
    Perm.CATALOG_READ,
    Perm.INCIDENTS_READ,
    Perm.ALERTS_READ,
    Perm.DIAGNOSTICS_READ,
    Perm.MAINTENANCE_READ,
    Perm.POSTMORTEMS_READ,
    Perm.INSIGHTS_READ,
    Perm.API_TOKENS_OWN,
}
_RESPONDER = _VIEWER | {
    Perm.INCIDENTS_RESPOND,
    Perm.DIAGNOSTICS_RUN,
    Perm.REMEDIATION_REQUEST,
    Perm.POSTMORTEMS_WRITE,
    Perm.MAINTENANCE_WORK,
}
_COMMANDER = _RESPONDER | {
    Perm.INCIDENTS_COMMAND,
    Perm.DIAGNOSTICS_START,
    Perm.RUNBOOKS_MANAGE,
    Perm.REMEDIATION_APPROVE,
    Perm.MAINTENANCE_MANAGE,
    Perm.POSTMORTEMS_PUBLISH,
}
ROLE_PERMS: dict[Role, frozenset[Perm]] = {
    Role.VIEWER: frozenset(_VIEWER),
    Role.RESPONDER: frozenset(_RESPONDER),
    Role.COMMANDER: frozenset(_COMMANDER),
    Role.ADMIN: frozenset(Perm),
}


def user_has_perm(user, perm: Perm) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(f"accounts.{perm.value}"))


def user_role(user) -> Role | None:
    """The highest role the user holds (superusers are admins), or None."""
    if not user or not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    names = {group.name for group in user.groups.all()}
    for role in reversed(ROLE_ORDER):
        if role.value in names:
            return role
    return None


def require_perm(*perms: Perm):
    """Page decorator: anonymous → login page; signed in without the permissions → 403."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return _login_redirect(request)
            if not all(user_has_perm(request.user, perm) for perm in perms):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapper.required_perms = perms
        return wrapper

    return decorator


class PermRequiredMixin:
    """Class-based pages: set `required_perms = (Perm.X,)`."""

    required_perms: tuple[Perm, ...] = ()

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return _login_redirect(request)
        if not self.required_perms or not all(
            user_has_perm(request.user, perm) for perm in self.required_perms
        ):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class DeclaredPermissions(drf_permissions.BasePermission):
    """Enforce a view's `permission_map`; an action missing from the map is denied."""

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        permission_map = getattr(view, "permission_map", None)
        if permission_map is None:
            return False
        action = getattr(view, "action", None) or request.method.lower()
        if action == "metadata":
            action = "list" if "list" in permission_map else "get"
        required = permission_map.get(action)
        if required is None:
            return False
        return all(user_has_perm(request.user, perm) for perm in required)


class IsViewer(drf_permissions.BasePermission):
    """Any signed-in user holding at least the viewer role (API schema and docs)."""

    def has_permission(self, request, view) -> bool:
        return user_has_perm(request.user, Perm.CATALOG_READ)
