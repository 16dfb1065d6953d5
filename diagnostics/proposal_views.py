"""Pages of proposed component statuses: the list, and approve/dismiss (commanders).

Proposals also show on the incident page's diagnostics panel; both post here and come back.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import Perm, require_perm, user_has_perm
from catalog.models import ComponentStatus

from .models import ProposalState, StatusProposal
from .status_proposals import ProposalError, proposal_approve, proposal_dismiss
from .views import _back


@require_GET
@require_perm(Perm.DIAGNOSTICS_READ)
def proposal_list(request):
    proposals = StatusProposal.objects.select_related("service", "incident", "decided_by")
    pending = list(proposals.filter(state=ProposalState.PENDING).order_by("-updated_at"))
    decided = Paginator(
        proposals.exclude(state=ProposalState.PENDING).order_by("-decided_at", "-id"), 25
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "diagnostics/proposals.html",
        {
            "pending": pending,
            "page": decided,
            "can_decide": user_has_perm(request.user, Perm.INCIDENTS_COMMAND),
            "next": request.get_full_path(),
        },
    )


def _decide(request, pk: int, decide) -> object:
    proposal = get_object_or_404(StatusProposal.objects.select_related("service"), pk=pk)
    try:
        decided = decide(proposal)
    except ProposalError as exc:
        messages.info(request, str(exc))
    else:
        label = ComponentStatus(decided.proposed_status).label.lower()
        if decided.state == ProposalState.APPROVED:
            messages.success(request, f"{decided.service.public_name} is now shown as {label}.")
        else:
            messages.success(request, f"Proposal for {decided.service.public_name} dismissed.")
    return _back(request, reverse("diagnostics:proposals"))


@require_POST
@require_perm(Perm.INCIDENTS_COMMAND)
def proposal_approve_view(request, pk: int):
    return _decide(request, pk, lambda p: proposal_approve(proposal=p, by=request.user))


@require_POST
@require_perm(Perm.INCIDENTS_COMMAND)
def proposal_dismiss_view(request, pk: int):
    reason = request.POST.get("reason", "")[:500]
    return _decide(
        request, pk, lambda p: proposal_dismiss(proposal=p, by=request.user, reason=reason)
    )
