"""The postmortem as a Markdown download and as a standalone print-friendly page.

Both show the current text (the frozen publication once published), or with `?revision=n` the
frozen content of published revision n (postmortems.export.document), so a file or printout of
revision n always shows what was published as n. Reading needs POSTMORTEMS_READ; an unknown
postmortem or revision is a 404, a malformed `revision` a 400.
"""

from __future__ import annotations

from django.core.exceptions import BadRequest
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.permissions import Perm, require_perm
from ops_portal.markdown import render_markdown

from . import export, selectors
from .models import Postmortem, PostmortemRevision


def _document(request, pk: int) -> export.Document:
    raw = request.GET.get("revision", "").strip()
    if raw and not raw.isdecimal():
        raise BadRequest("revision must be a revision number.")
    try:
        postmortem = selectors.postmortem_detail(pk)
        return export.document(postmortem, int(raw) if raw else None)
    except (Postmortem.DoesNotExist, PostmortemRevision.DoesNotExist):
        raise Http404("No such postmortem or revision.") from None


@require_GET
@require_perm(Perm.POSTMORTEMS_READ)
def export_markdown(request, pk: int):
    doc = _document(request, pk)
    response = HttpResponse(
        export.document_markdown(doc), content_type="text/markdown; charset=utf-8"
    )
    # The filename is built from the incident number and revision only: nothing to quote.
    response["Content-Disposition"] = f'attachment; filename="{doc.filename}"'
    return response


@require_GET
@require_perm(Perm.POSTMORTEMS_READ)
def print_page(request, pk: int):
    doc = _document(request, pk)
    context = {
        "doc": doc,
        "sections": [
            (heading, render_markdown(text) if text else None)
            for _field, heading, text in doc.section_rows()
        ],
        "metrics": doc.metric_rows(),
        "timeline": [
            (entry, render_markdown(entry.annotation) if entry.annotation else None)
            for entry in doc.timeline
        ],
        "revision_query": f"?revision={doc.revision}" if doc.frozen else "",
    }
    return render(request, "postmortems/print.html", context)
