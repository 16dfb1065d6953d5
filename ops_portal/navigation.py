"""The main navigation, filtered by what the signed-in user may see.

Sections appear once their app is installed and its URL exists, so the menu never links to a
page that is not there yet.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from accounts.permissions import Perm, user_has_perm


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    perm: Perm | None  # None: shown to everyone, signed in or not


NAV_ITEMS = (
    NavItem("Incidents", "incidents:list", Perm.INCIDENTS_READ),
    NavItem("Alerts", "alerts:list", Perm.ALERTS_READ),
    NavItem("Diagnostics", "diagnostics:list", Perm.DIAGNOSTICS_READ),
    NavItem("Maintenance", "maintenance:list", Perm.MAINTENANCE_READ),
    NavItem("Postmortems", "postmortems:list", Perm.POSTMORTEMS_READ),
    NavItem("Insights", "insights:dashboard", Perm.INSIGHTS_READ),
    NavItem("Services", "catalog:service-list", Perm.CATALOG_READ),
    NavItem("Status page", "statuspage:home", None),
)


def _url(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = []
    for item in NAV_ITEMS:
        if item.perm is not None and not user_has_perm(user, item.perm):
            continue
        url = _url(item.url_name)
        if url is None:
            continue
        items.append({"label": item.label, "url": url, "active": request.path.startswith(url)})
    return {"nav_items": items}
