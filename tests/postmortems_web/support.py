"""Helpers of the postmortem page tests: a postmortem written, or walked to published."""

from __future__ import annotations

from postmortems import services


def written(postmortem, by, **sections):
    sections.setdefault("summary", "Checkout returned 503 for 40 minutes.")
    sections.setdefault("root_cause", "The connection pool was too small for the new worker count.")
    return services.postmortem_update(postmortem=postmortem, by=by, **sections)


def published(postmortem, by, **sections):
    postmortem = written(postmortem, by, **sections)
    services.postmortem_submit(postmortem=postmortem, by=by)
    services.postmortem_review(postmortem=postmortem, by=by)
    return services.postmortem_publish(postmortem=postmortem, by=by)
