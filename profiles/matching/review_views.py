"""The review queue (MANAGE_PROFILES: account managers and admins): one pair at a time,
strongest first, the two profiles side by side with why the pair was held and why it
scored what it did; Accept merges, Reject means never again. After a decision the pair
now at the same place in the queue comes back as the ``pair`` partial."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from cdp_site.access import requires
from cdp_site.permissions import Cap, has_capability

from .. import masking
from .. import selectors as profile_selectors
from ..models import Profile
from . import charts, selectors, services
from .views import held_label

REVIEW = "profiles/matching/review.html"
EVENTS_SHOWN = 5


def _position(request) -> int:
    text = request.GET.get("pos") or request.POST.get("pos") or "0"
    return min(int(text), 10**6) if text.isdigit() else 0


def _side(profile: Profile | None, masker: masking.Masker) -> dict | None:
    """One profile as the profile page shows it to this viewer: identities, traits with
    their sources, and its last events, personal values masked without the grant."""
    if profile is None:
        return None
    events = list(
        profile_selectors.events_of(profile=profile).order_by("-timestamp")[:EVENTS_SHOWN]
    )
    for event in events:  # copies' properties only: nothing is saved
        event.properties = masker.properties(event.properties)
    return {
        **masker.summary(profile_selectors.merge_summary(profile=profile)),
        "traits": masker.trait_rows(profile_selectors.traits_with_provenance(profile=profile)),
        "last_events": events,
    }


def _pair_context(position: int, masker: masking.Masker, **extra) -> dict:
    queue = selectors.review_queue()
    total = queue.count()
    position = min(position, max(total - 1, 0))
    candidate = queue.select_related("model")[position : position + 1].first()
    context = {"total": total, "pos": position, "candidate": candidate, **extra}
    if candidate is None:
        return context
    left, right = selectors.candidate_pair(candidate)
    explained = services.explanation(candidate)
    context.update(
        left=_side(left, masker),
        right=_side(right, masker),
        held=[held_label(r) for r in candidate.held_by],
        explanation=explained,
        waterfall=charts.waterfall_figure(explained) if explained else None,
        previous_pos=position - 1 if position > 0 else None,
        next_pos=position + 1 if position + 1 < total else None,
    )
    return context


@requires(Cap.MANAGE_PROFILES)
@require_GET
def review(request):
    name = f"{REVIEW}#pair" if request.htmx else REVIEW
    context = _pair_context(_position(request), masking.masker_for_request(request))
    context["hide_admin"] = not has_capability(request.user, Cap.MANAGE_IDENTITY_RULES)
    return TemplateResponse(request, name, context)


def _decide(request, decision, pk: int, done: str):
    position, error = _position(request), ""
    try:
        decision(candidate_id=pk, actor=request.user)
    except services.MatchingError as failed:
        services.set_aside_if_gone(candidate_id=pk)
        error = f"{failed.reason.capitalize()}: moved on to the next pair."
    if request.htmx:
        masker = masking.masker_for_request(request)
        context = _pair_context(position, masker, error=error, done="" if error else done)
        return TemplateResponse(request, f"{REVIEW}#pair", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, done)
    return redirect(f"{reverse('profiles:matching:review')}?pos={position}")


@requires(Cap.MANAGE_PROFILES)
@require_POST
def accept(request, pk: int):
    return _decide(request, services.accept, pk, "Merged.")


@requires(Cap.MANAGE_PROFILES)
@require_POST
def reject(request, pk: int):
    return _decide(request, services.reject, pk, "Marked as two people: never suggested again.")
