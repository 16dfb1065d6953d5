"""Business-hours arithmetic for the P3 "escalate next business day" rule."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings


def next_business_day_start(after: datetime) -> datetime:
    """Opening time of the first business day after the calendar day of `after`.

    Friday 10:00 → Monday opening; Saturday → Monday opening; Monday 08:00 → Tuesday opening.
    Computed in the business time zone, returned as an aware datetime.
    """
    zone = ZoneInfo(settings.BUSINESS_TIME_ZONE)
    opening = time.fromisoformat(settings.BUSINESS_HOURS_START)
    day = after.astimezone(zone).date()
    for _ in range(14):
        day += timedelta(days=1)
        if day.weekday() in settings.BUSINESS_DAYS:
            return datetime.combine(day, opening, tzinfo=zone)
    raise ValueError("BUSINESS_DAYS names no weekday")
