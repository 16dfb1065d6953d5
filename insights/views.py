"""The insights dashboard page (`?format=csv` downloads the same figures).

Every role reads it (INSIGHTS_READ). Bad filters re-render the page with the form's errors and
status 400 (the CSV answers 400 too), never a server error.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.permissions import Perm, require_perm

from . import charts
from .export import csv_response
from .figures import Insights, insights_for
from .forms import InsightsFilterForm
from .period import local_date


def _charts(insights: Insights) -> dict:
    return {
        "weekly": charts.weekly_stacked(insights.weeks, insights.severities),
        "mtta": charts.response_bars(insights.response_times, "mtta"),
        "mttr": charts.response_bars(insights.response_times, "mttr"),
        "steps": charts.horizontal_bars(
            [
                charts.Bar(
                    step.label,
                    step.minutes.median,
                    f"{step.label}: median {step.minutes.median} min over "
                    f"{step.minutes.count} incidents",
                )
                for step in insights.steps
                if step.minutes.count
            ],
            title="Median time in each step",
            duration=True,
            css="step",
        ),
        "top_incidents": charts.horizontal_bars(
            [charts.Bar(f.name, f.incidents) for f in insights.top_by_incidents],
            title="Incidents per service",
            css="service",
        ),
        "top_downtime": charts.horizontal_bars(
            [charts.Bar(f.name, f.downtime_minutes) for f in insights.top_by_downtime],
            title="Downtime per service",
            duration=True,
            css="downtime",
        ),
    }


@require_GET
@require_perm(Perm.INSIGHTS_READ)
def dashboard(request):
    now = timezone.now()
    form = InsightsFilterForm(request.GET, today=local_date(now))
    wants_csv = request.GET.get("format") == "csv"
    if not form.is_valid():
        if wants_csv:
            return HttpResponse(
                "Invalid filters.\n", status=400, content_type="text/plain; charset=utf-8"
            )
        return render(request, "insights/dashboard.html", {"form": form}, status=400)
    period, filters = form.period_and_filters()
    insights = insights_for(period, filters, now=now)
    if wants_csv:
        return csv_response(insights)
    csv_query = request.GET.copy()
    csv_query["format"] = "csv"
    return render(
        request,
        "insights/dashboard.html",
        {
            "form": form,
            "insights": insights,
            "charts": _charts(insights),
            "csv_query": csv_query.urlencode(),
        },
    )
