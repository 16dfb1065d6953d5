"""The dashboard as one CSV: every figure a row of `section, item, metric, value`.

One long ("tidy") table rather than several glued together, so a spreadsheet's filter on
`section` gives any one figure, and a script reads it with a plain CSV reader:

    section                 item        metric               value
    period                  current     start                2025-03-17
    incidents_per_week      2025-03-24  P1                   2
    response_times          P1          mtta_median_minutes  10.0
    playbook_steps          assess      median_minutes       35.0
    top_services_incidents  Payments    incidents            3
    top_services_downtime   Payments    downtime_minutes     30180.0
    postmortems             on_time     percent              60.0
    action_items            overdue     count                1

Empty cells mean "nothing to measure". Text that a spreadsheet would run as a formula (a service
name starting with `=`, `+`, `-`, `@`) is prefixed with `'`.
"""

from __future__ import annotations

import csv
import io

from django.http import HttpResponse

from .figures import Insights

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    if value is None:
        return ""
    text = str(value)
    if isinstance(value, str) and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def rows(insights: Insights) -> list[tuple]:
    out: list[tuple] = []
    for name, period in (("current", insights.period), ("previous", insights.previous_period)):
        out += [("period", name, "start", period.start), ("period", name, "end", period.end)]
    out.append(("period", "current", "time_zone", insights.time_zone))
    out.append(("filters", "severities", "", " ".join(insights.filters.shown_severities)))
    out.append(("filters", "service", "", insights.filters.service_slug))
    out.append(("incidents", "total", "count", insights.incident_count))
    for week in insights.weeks:
        for level, count in week.by_severity.items():
            out.append(("incidents_per_week", week.week_start, level, count))
        out.append(("incidents_per_week", week.week_start, "total", week.total))
    for row in insights.response_times:
        for label, spread in (
            ("mtta", row.mtta),
            ("mttr", row.mttr),
            ("previous_mtta", row.previous_mtta),
            ("previous_mttr", row.previous_mttr),
        ):
            out.append(("response_times", row.severity, f"{label}_count", spread.count))
            out.append(("response_times", row.severity, f"{label}_median_minutes", spread.median))
            out.append(("response_times", row.severity, f"{label}_p90_minutes", spread.p90))
    for step in insights.steps:
        out.append(("playbook_steps", step.step, "count", step.minutes.count))
        out.append(("playbook_steps", step.step, "median_minutes", step.minutes.median))
        out.append(("playbook_steps", step.step, "p90_minutes", step.minutes.p90))
    for figure in insights.top_by_incidents:
        out.append(("top_services_incidents", figure.name, "incidents", figure.incidents))
    for figure in insights.top_by_downtime:
        out.append(
            ("top_services_downtime", figure.name, "downtime_minutes", figure.downtime_minutes)
        )
    postmortems = insights.postmortems
    for metric in ("due", "on_time", "late", "overdue", "pending"):
        out.append(("postmortems", metric, "count", getattr(postmortems, metric)))
    out.append(("postmortems", "on_time", "percent", postmortems.on_time_percent))
    for metric in ("total", "open", "overdue", "done", "wont_do"):
        out.append(("action_items", metric, "count", getattr(insights.action_items, metric)))
    return out


def filename(insights: Insights) -> str:
    period = insights.period
    return f"insights-{period.start:%Y-%m-%d}-to-{period.end:%Y-%m-%d}.csv"


def csv_response(insights: Insights) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(("section", "item", "metric", "value"))
    writer.writerows(tuple(_cell(value) for value in row) for row in rows(insights))
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename(insights)}"'
    return response
