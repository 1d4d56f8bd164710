"""The quarantine page: what processing set aside, per source, and replaying it."""

from django.contrib import messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from cdp_site.access import requires
from cdp_site.permissions import Cap, has_capability

from ..filters import QuarantinedEventFilter
from . import selectors, services

T = "integrations/quarantine.html"
SHOWN = 200


@requires(Cap.VIEW_INTEGRATIONS, write=Cap.MANAGE_INTEGRATIONS)
@require_GET
def quarantine_list(request):
    found = QuarantinedEventFilter(request.GET or None, queryset=selectors.quarantined())
    events = found.qs  # an invalid filter value is left out, as on the other lists
    chosen = found.form.cleaned_data.get("source") if found.is_bound and found.is_valid() else None
    context = {
        "filter": found,
        "per_source": selectors.counts_per_source(),
        "events": events[:SHOWN],
        "total": events.count(),
        "shown": SHOWN,
        "source_id": chosen,
        "can_manage": has_capability(request.user, Cap.MANAGE_INTEGRATIONS),
    }
    return TemplateResponse(request, f"{T}#events" if request.htmx else T, context)


@requires(Cap.MANAGE_INTEGRATIONS)
@require_POST
def quarantine_replay(request):
    """Replays one event (``id``), every event of a source (``source``), or all."""
    ids, source_id = _ints(request.POST.getlist("id")), _ints([request.POST.get("source", "")])
    replayed = services.replay(ids=ids or None, source_id=source_id[0] if source_id else None)
    messages.success(
        request,
        f"{replayed} event{'s' if replayed != 1 else ''} back in the processing queue."
        if replayed
        else "Nothing to replay: another admin may have replayed these already.",
    )
    back = reverse("integrations:quarantine")
    return redirect(f"{back}?source={source_id[0]}" if source_id else back)


def _ints(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.isdigit() and len(v) < 19]
