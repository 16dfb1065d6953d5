"""Postmortem pages: the list, the document with its timeline curation and review controls, the
editor, frozen revisions, and starting an optional postmortem from the incident page.

Reading needs POSTMORTEMS_READ (every role); writing sections, curating the timeline, action
items and asking for review need POSTMORTEMS_WRITE (responders); marking reviewed, sending back
and publishing need POSTMORTEMS_PUBLISH (commanders). Every action is a plain POST through
postmortems.services that redirects back, so the pages work without JavaScript; timeline
curation also answers htmx with the timeline section. A PostmortemError re-renders the page with
the message and the error's HTTP status (400/409), never a server error.

Action items (their page and POSTs) are in action_views.py.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import F
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import Perm, require_perm, user_has_perm
from incidents.models import EventKind, Incident, TimelineEvent

from . import document, selectors, services
from .errors import PostmortemError
from .forms import (
    ActionItemForm,
    CurationForm,
    PostmortemFilterForm,
    PostmortemForm,
    ReturnForm,
)
from .models import OPEN_ACTION_STATUSES, ActionStatus, Postmortem, PostmortemRevision

PAGE_SIZE = 50
# Events the generator left out that a writer may pull in: the newest first would hide the
# story's start, so the first ones in seq order, capped to keep the page light.
SKIPPED_SHOWN = 200


def get_postmortem(pk: int) -> Postmortem:
    try:
        return selectors.postmortem_detail(pk)
    except Postmortem.DoesNotExist:
        raise Http404("No such postmortem.") from None


def detail_url(postmortem: Postmortem) -> str:
    return reverse("postmortems:detail", args=[postmortem.pk])


# --- List -------------------------------------------------------------------------------------


@require_GET
@require_perm(Perm.POSTMORTEMS_READ)
def postmortem_list(request):
    filters = PostmortemFilterForm(request.GET)
    valid = filters.is_valid()
    data = filters.cleaned_data if valid else {}
    now = timezone.now()
    postmortems = selectors.postmortems_for_listing()
    if data.get("state"):
        postmortems = postmortems.filter(state=data["state"])
    if data.get("mine"):
        postmortems = postmortems.filter(owner=request.user)
    if data.get("overdue"):
        postmortems = postmortems.filter(first_published_at__isnull=True, due_at__lt=now)
    page = Paginator(postmortems, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "filters": filters,
        "filtered": any(data.values()),
        "page": page,
        "now": now,
        "querystring": params.urlencode(),
    }
    return render(request, "postmortems/list.html", context, status=200 if valid else 400)


# --- The document -----------------------------------------------------------------------------


def _skipped_events(postmortem: Postmortem, shown: list) -> list[TimelineEvent]:
    """The incident's events the generated timeline leaves out, for a writer to pull in."""
    return list(
        TimelineEvent.objects.filter(incident_id=postmortem.incident_id)
        .exclude(pk__in=[entry.event_id for entry in shown])
        .exclude(kind=EventKind.POSTMORTEM)
        .select_related("author")
        .order_by("seq")[:SKIPPED_SHOWN]
    )


def _timeline_context(request, postmortem: Postmortem, doc=None) -> dict:
    """What the timeline section needs; also the htmx answer to a curation POST."""
    curate = user_has_perm(request.user, Perm.POSTMORTEMS_WRITE) and not postmortem.is_published
    if doc is None:
        doc = document.live(postmortem, include_hidden=curate)
    return {
        "postmortem": postmortem,
        "doc": doc,
        "curate": curate,
        "skipped": _skipped_events(postmortem, doc.timeline) if curate else [],
    }


def _detail_context(request, postmortem: Postmortem, **overrides) -> dict:
    user = request.user
    can_write = user_has_perm(user, Perm.POSTMORTEMS_WRITE)
    revisions = list(
        postmortem.revisions.defer("content").select_related("published_by").order_by("-number")
    )
    doc = None  # the live text, built with the timeline context
    if postmortem.is_published:
        # Shown as published: the frozen revision, whatever the live row holds.
        current = PostmortemRevision.objects.filter(
            postmortem=postmortem, number=postmortem.revision
        ).first()
        doc = document.frozen(current) if current else None
    context = _timeline_context(request, postmortem, doc)
    services_ = list(postmortem.incident.services.order_by("position", "name"))
    items = list(
        postmortem.action_items.select_related("owner", "service").order_by(
            F("due_date").asc(nulls_last=True), "id"
        )
    )
    context.update(
        incident=postmortem.incident,
        services=services_,
        items=items,
        items_open=sum(1 for item in items if item.status in OPEN_ACTION_STATUSES),
        revisions=revisions,
        now=timezone.now(),
        can_write=can_write,
        can_publish=user_has_perm(user, Perm.POSTMORTEMS_PUBLISH),
        item_form=ActionItemForm(services=services_, auto_id="item_%s"),
        return_form=ReturnForm(),
        statuses=ActionStatus.choices,
        error=None,
        failed_item=None,
    )
    context.update(overrides)
    return context


@require_GET
@require_perm(Perm.POSTMORTEMS_READ)
def postmortem_detail(request, pk: int):
    postmortem = get_postmortem(pk)
    return render(request, "postmortems/detail.html", _detail_context(request, postmortem))


def failed(request, pk: int, exc: PostmortemError, **overrides):
    """The postmortem page again, with the service's refusal and its status code."""
    postmortem = get_postmortem(pk)
    context = _detail_context(request, postmortem, error=exc, **overrides)
    return render(request, "postmortems/detail.html", context, status=exc.http_status)


@require_GET
@require_perm(Perm.POSTMORTEMS_READ)
def revision_detail(request, pk: int, number: int):
    revision = get_object_or_404(
        PostmortemRevision.objects.select_related(
            "published_by", "postmortem__incident__severity_policy"
        ),
        postmortem_id=pk,
        number=number,
    )
    postmortem = revision.postmortem
    context = {
        "postmortem": postmortem,
        "incident": postmortem.incident,
        "revision": revision,
        "doc": document.frozen(revision),
        "content": revision.content,
        "is_current": postmortem.is_published and postmortem.revision == revision.number,
    }
    return render(request, "postmortems/revision.html", context)


# --- Editing ----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@require_perm(Perm.POSTMORTEMS_WRITE)
def postmortem_edit(request, pk: int):
    postmortem = get_postmortem(pk)
    form = PostmortemForm.for_postmortem(postmortem, request.POST or None)
    context = {"postmortem": postmortem, "incident": postmortem.incident, "form": form}
    if request.method == "GET":
        return render(request, "postmortems/edit.html", context)
    if not form.is_valid():
        return render(request, "postmortems/edit.html", context, status=400)
    changes = form.changes()
    if not changes:
        messages.info(request, "Nothing changed.")
        return redirect(detail_url(postmortem))
    was_published = postmortem.is_published
    try:
        updated = services.postmortem_update(postmortem=postmortem, by=request.user, **changes)
    except PostmortemError as exc:
        form.add_error(None, exc.message)
        return render(request, "postmortems/edit.html", context, status=exc.http_status)
    if was_published:
        messages.success(
            request,
            f"Revision {updated.revision} opened as a draft; revision {updated.revision - 1} "
            "stays published.",
        )
    else:
        messages.success(request, "Postmortem saved.")
    return redirect(detail_url(postmortem))


# --- Review and publication -------------------------------------------------------------------


def _transition(request, pk: int, action, done: str, **kwargs):
    postmortem = get_postmortem(pk)
    try:
        action(postmortem=postmortem, by=request.user, **kwargs)
    except PostmortemError as exc:
        return failed(request, pk, exc)
    messages.success(request, done)
    return redirect(detail_url(postmortem))


@require_POST
@require_perm(Perm.POSTMORTEMS_WRITE)
def postmortem_submit(request, pk: int):
    return _transition(request, pk, services.postmortem_submit, "Submitted for review.")


@require_POST
@require_perm(Perm.POSTMORTEMS_PUBLISH)
def postmortem_review(request, pk: int):
    return _transition(request, pk, services.postmortem_review, "Marked reviewed.")


@require_POST
@require_perm(Perm.POSTMORTEMS_PUBLISH)
def postmortem_return(request, pk: int):
    form = ReturnForm(request.POST)
    if not form.is_valid():
        exc = PostmortemError("Keep the reason under 500 characters.")
        return failed(request, pk, exc, return_form=form)
    return _transition(
        request,
        pk,
        services.postmortem_return,
        "Sent back to draft.",
        reason=form.cleaned_data["reason"].strip(),
    )


@require_POST
@require_perm(Perm.POSTMORTEMS_PUBLISH)
def postmortem_publish(request, pk: int):
    postmortem = get_postmortem(pk)
    return _transition(
        request, pk, services.postmortem_publish, f"Revision {postmortem.revision} published."
    )


# --- Timeline curation ------------------------------------------------------------------------


def _curation_failed(request, pk: int, exc: PostmortemError):
    if request.htmx:
        # htmx does not swap error responses: reload the page, which shows the message.
        messages.error(request, exc.message)
        response = render(request, "postmortems/_error.html", {"error": exc})
        response.status_code = exc.http_status
        response["HX-Refresh"] = "true"
        return response
    return failed(request, pk, exc)


@require_POST
@require_perm(Perm.POSTMORTEMS_WRITE)
def curation_set(request, pk: int, event_id: int):
    """Hide/show, include/leave out or annotate one event of the postmortem's timeline."""
    postmortem = get_postmortem(pk)
    event = get_object_or_404(TimelineEvent, pk=event_id, incident_id=postmortem.incident_id)
    form = CurationForm(request.POST)
    if not form.is_valid():
        return _curation_failed(
            request, pk, PostmortemError("Keep the annotation under 2,000 characters.")
        )
    changes = form.changes(request.POST)
    if not changes:
        return _curation_failed(request, pk, PostmortemError("Nothing to change on that event."))
    try:
        services.curation_set(postmortem=postmortem, event=event, by=request.user, **changes)
    except PostmortemError as exc:
        return _curation_failed(request, pk, exc)
    if request.htmx:
        postmortem = get_postmortem(pk)
        return render(request, "postmortems/_timeline.html", _timeline_context(request, postmortem))
    return redirect(f"{detail_url(postmortem)}#event-{event.pk}")


# --- Starting one from the incident page ------------------------------------------------------


@require_POST
@require_perm(Perm.POSTMORTEMS_WRITE)
def postmortem_start(request, incident_id: int):
    """An optional postmortem (severities that do not require one), started by hand."""
    incident = get_object_or_404(
        Incident.objects.select_related("severity_policy", "commander"), pk=incident_id
    )
    try:
        postmortem = services.postmortem_create(incident=incident, by=request.user, required=False)
    except PostmortemError as exc:
        messages.error(request, exc.message)
        return redirect(f"{reverse('incidents:detail', args=[incident.number])}#panel-postmortem")
    messages.success(request, f"Postmortem of {incident.ref} started.")
    return redirect(detail_url(postmortem))
