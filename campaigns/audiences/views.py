"""Pages of audience syncs: the list, a new sync, and one sync's status page with its
"Resync everything" button (htmx swaps the status fragment; it also refreshes itself).
Marketers and admins create and resync (MANAGE_CAMPAIGNS); VIEW_CAMPAIGNS reads."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET, require_POST

from cdp_site.access import requires
from cdp_site.permissions import Cap, has_capability

from . import selectors, services
from .forms import AudienceSyncForm

T = "campaigns/audiences/"


def _can_manage(request) -> bool:
    return has_capability(request.user, Cap.MANAGE_CAMPAIGNS)


@requires(Cap.VIEW_CAMPAIGNS, write=Cap.MANAGE_CAMPAIGNS)
@require_GET
def sync_list(request):
    context = {"syncs": selectors.syncs(), "can_manage": _can_manage(request)}
    return TemplateResponse(request, T + "list.html", context)


@requires(Cap.MANAGE_CAMPAIGNS)
def sync_new(request):
    form = AudienceSyncForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            made = services.create_sync(**form.cleaned_data, created_by=request.user)
        except services.SyncError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, f"{made.name}: the first full upload starts within seconds.")
            return redirect("campaigns:audience-detail", pk=made.pk)
    status = 400 if request.method == "POST" else 200
    return TemplateResponse(request, T + "new.html", {"form": form}, status=status)


@requires(Cap.VIEW_CAMPAIGNS, write=Cap.MANAGE_CAMPAIGNS)
@require_GET
def sync_detail(request, pk: int):
    sync = get_object_or_404(selectors.syncs(), pk=pk)
    template = T + ("detail.html#status" if request.htmx else "detail.html")
    context = {"sync": sync, "status": selectors.status(sync), "can_manage": _can_manage(request)}
    return TemplateResponse(request, template, context)


@requires(Cap.MANAGE_CAMPAIGNS)
@require_POST
def sync_resync(request, pk: int):
    sync = get_object_or_404(selectors.syncs(), pk=pk)
    queued = services.request_full(sync=sync)
    note = f"Resync asked: {queued:,} people are checked and sent again within seconds."
    if not request.htmx:
        messages.success(request, note)
        return redirect("campaigns:audience-detail", pk=sync.pk)
    sync.refresh_from_db()
    context = {"sync": sync, "status": selectors.status(sync), "can_manage": True, "note": note}
    return TemplateResponse(request, T + "detail.html#status", context)
