"""Panels other apps add to the incident page, without the core importing them.

An app registers a panel from its `AppConfig.ready()`:

    register_panel("alerts", render, stylesheets=("css/alerts.css",))

`render(request, incident) -> str | None` returns HTML rendered from a template (a SafeString)
whose heading has the id `panel-<name>-h` (it labels the section the page wraps it in),
or None to show nothing (no data, or the user may not see it). Plain strings are escaped, so a
panel cannot inject markup by accident. Panels render in registration order; one that raises is
logged and left out, so an optional panel never takes the incident page down.

Each panel's cost adds to the page's query count: keep it a fixed number of queries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.utils.html import conditional_escape

logger = logging.getLogger(__name__)

PanelRender = Callable[..., "str | None"]


@dataclass(frozen=True)
class Panel:
    name: str
    render: PanelRender
    stylesheets: tuple[str, ...] = ()


@dataclass(frozen=True)
class RenderedPanel:
    name: str
    html: str


_panels: dict[str, Panel] = {}


def register_panel(name: str, render: PanelRender, *, stylesheets: tuple[str, ...] = ()) -> None:
    """Show `render(request, incident)` on every incident page (idempotent per name)."""
    _panels[name] = Panel(name=name, render=render, stylesheets=tuple(stylesheets))


def unregister_panel(name: str) -> None:
    _panels.pop(name, None)


def panel_stylesheets() -> list[str]:
    """Static paths the registered panels need in the page head."""
    seen: list[str] = []
    for panel in _panels.values():
        seen.extend(path for path in panel.stylesheets if path not in seen)
    return seen


def render_panels(request, incident) -> list[RenderedPanel]:
    rendered = []
    for panel in list(_panels.values()):
        try:
            html = panel.render(request, incident)
        except Exception:
            logger.exception("incident panel %r failed for %s", panel.name, incident.ref)
            continue
        if html:
            rendered.append(RenderedPanel(name=panel.name, html=conditional_escape(html)))
    return rendered
