"""Probe status colours are readable: every badge colour has at least 4.5:1 contrast (WCAG AA
for normal text) on its own background and on the page surface, in light and dark mode."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = Path(__file__).resolve().parents[2] / "static" / "css" / "diagnostics.css"
PORTAL_CSS = CSS.with_name("portal.css")
STATUSES = ("ok", "warning", "critical", "error", "pending")


def _variables(block: str) -> dict[str, str]:
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", block))


def _schemes(path: Path) -> dict[str, dict[str, str]]:
    text = path.read_text()
    light, _, dark = text.partition("@media (prefers-color-scheme: dark)")
    dark_block = dark.split("}\n}", 1)[0]
    return {"light": _variables(light.split("}", 1)[0]), "dark": _variables(dark_block)}


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("status", STATUSES)
def test_status_colour_contrast(scheme, status):
    colours = _schemes(CSS)[scheme]
    surface = _schemes(PORTAL_CSS)[scheme]["surface"]
    text, background = colours[f"ps-{status}"], colours[f"ps-{status}-bg"]
    assert contrast(text, background) >= 4.5, (scheme, status, text, background)
    assert contrast(text, surface) >= 4.5, (scheme, status, text, surface)


def test_every_status_has_a_shape_besides_its_colour():
    text = CSS.read_text()
    for status in STATUSES:
        assert re.search(rf"\.pstatus-{status}::before \{{ content: \"[^\"]+\"", text), status
