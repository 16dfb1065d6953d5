"""Public incident pages and the monthly history: cached, the same for everyone, no JavaScript.

Like views.py, rendered without the request so nothing per-visitor reaches a shared page.
"""

from __future__ import annotations

import re
from datetime import UTC, date

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import timezone

from .branding import page_context
from .responses import HTML, cached_response, public_read
from .selectors import public_components, public_incident
from .selectors.history import month_history
from .selectors.postmortem import public_postmortem

_MONTH = re.compile(r"(\d{4})-(\d{2})")
# History starts here: bounds the months (and so the cache entries) a visitor can ask for.
EARLIEST_MONTH = date(2000, 1, 1)


def _shift(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _parse_month(raw: str | None, current: date) -> date | None:
    """`YYYY-MM` between EARLIEST_MONTH and `current`; the current month when absent."""
    if raw is None:
        return current
    match = _MONTH.fullmatch(raw)
    if match is None or not 1 <= int(match[2]) <= 12:
        return None
    month = date(int(match[1]), int(match[2]), 1)
    return month if EARLIEST_MONTH <= month <= current else None


@public_read(json=False)
def incident_detail(request: HttpRequest, number: int) -> HttpResponse:
    def build() -> str:
        incident = public_incident(number, public_components())
        if incident is None:
            # Unknown incidents and incidents never published look the same from outside.
            raise Http404("No such incident")
        return render_to_string(
            "statuspage/incident_detail.html",
            {
                **page_context(),
                "incident": incident,
                "postmortem": public_postmortem(number),
                "now": timezone.now(),
            },
        )

    return cached_response(request, f"html:incident:{number}", build, content_type=HTML, cors=False)


@public_read(json=False)
def history(request: HttpRequest) -> HttpResponse:
    current = timezone.now().astimezone(UTC).date().replace(day=1)
    month = _parse_month(request.GET.get("month"), current)
    if month is None:
        return JsonResponse(
            {
                "type": "invalid_month",
                "detail": f"month must be YYYY-MM, from {EARLIEST_MONTH:%Y-%m} to {current:%Y-%m}.",
            },
            status=400,
        )

    def build() -> str:
        previous, following = _shift(month, -1), _shift(month, 1)
        return render_to_string(
            "statuspage/history.html",
            {
                **page_context(),
                "history": month_history(month),
                "previous": previous if previous >= EARLIEST_MONTH else None,
                "next": following if following <= current else None,
                "now": timezone.now(),
            },
        )

    return cached_response(
        request, f"html:history:{month:%Y-%m}", build, content_type=HTML, cors=False
    )
