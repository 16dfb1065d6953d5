"""The customer-facing summary of a published postmortem, for the incident's public page.

Only the summary the authors wrote for customers (`customer_summary`) as it was frozen in the
latest published revision: drafts, internal sections and later unpublished edits never show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from postmortems.models import PostmortemRevision


@dataclass(frozen=True)
class PublicPostmortem:
    summary: str
    published_at: datetime


def public_postmortem(incident_number: int) -> PublicPostmortem | None:
    """One query: the newest published revision of the incident's postmortem, if it has a
    customer-facing summary."""
    revision = (
        PostmortemRevision.objects.filter(postmortem__incident__number=incident_number)
        .order_by("-number")
        .values("content__customer_summary", "published_at")
        .first()
    )
    if not revision or not (revision["content__customer_summary"] or "").strip():
        return None
    return PublicPostmortem(
        summary=revision["content__customer_summary"], published_at=revision["published_at"]
    )
