"""The page's look as admins configured it (PageConfig): one place every public body reads it.

Bodies are cached, so this costs one query per cache miss; saving the configuration
invalidates the cache (invalidation.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from .models import PageConfig


@dataclass(frozen=True)
class Branding:
    name: str
    logo_url: str
    brand_color: str


def branding() -> Branding:
    config = PageConfig.current()
    return Branding(name=config.name, logo_url=config.logo_url, brand_color=config.brand_color)


def page_context() -> dict:
    """What every public template needs for its header: the name and the brand."""
    brand = branding()
    return {"page_name": brand.name, "brand": brand}
