"""Admin pages for sources: list, create, edit, key rotation, and the live page."""

from datetime import timedelta

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from cdp_site.access import requires
from cdp_site.permissions import Cap, has_capability

from . import selectors, services
from .filters import SourceFilter
from .forms import RotateKeyForm, SourceForm
from .suppression import selectors as suppression


def _partial(request, template: str, partial: str) -> str:
    """Full page normally; just the named partial when htmx asks for it."""
    return f"{template}#{partial}" if request.htmx else template


@requires(Cap.VIEW_INTEGRATIONS, write=Cap.MANAGE_INTEGRATIONS)
@require_GET
def index(request):
    # Always bound: with no parameters the filter still leaves archived sources out.
    sources = SourceFilter(request.GET, queryset=selectors.sources())
    return TemplateResponse(
        request,
        _partial(request, "integrations/index.html", "source-list"),
        {"filter": sources, "sources": sources.qs},
    )


@requires(Cap.MANAGE_INTEGRATIONS)
def source_create(request):
    form = SourceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        source = services.create_source(**form.cleaned_data)
        messages.success(request, f"Created {source.name}. Its write key is below.")
        return redirect("integrations:source-detail", pk=source.pk)
    return TemplateResponse(request, "integrations/source_form.html", {"form": form})


@requires(Cap.MANAGE_INTEGRATIONS)
def source_edit(request, pk: int):
    source = get_object_or_404(selectors.sources(), pk=pk)
    if source.archived:
        messages.error(request, f"{source.name} is archived: restore it before editing it.")
        return redirect("integrations:source-detail", pk=source.pk)
    form = SourceForm(request.POST or None, instance=source)
    if request.method == "POST" and form.is_valid():
        changes = form.cleaned_data
        changes["trust"] = changes["trust"] or source.trust
        services.update_source(source=source, **changes)
        messages.success(request, f"Saved {source.name}.")
        return redirect("integrations:source-detail", pk=source.pk)
    return TemplateResponse(
        request, "integrations/source_form.html", {"form": form, "source": source}
    )


@requires(Cap.MANAGE_INTEGRATIONS)
@require_POST
def source_rotate_verification_secret(request, pk: int):
    source = get_object_or_404(selectors.sources(), pk=pk)
    secret = services.rotate_verification_secret(source=source)
    if not request.htmx:
        messages.success(request, "A new verification secret is active; update your backend.")
        return redirect("integrations:source-detail", pk=source.pk)
    return TemplateResponse(
        request,
        "integrations/source_detail.html#trust",
        {"source": source, "verification_secret": secret, "rotated_secret": True},
    )


@requires(Cap.MANAGE_INTEGRATIONS)
@require_POST
def source_rotate_key(request, pk: int):
    source = get_object_or_404(selectors.sources(), pk=pk)
    form = RotateKeyForm(request.POST)
    rotated = False
    if source.archived:
        messages.error(request, f"{source.name} is archived: restore it before rotating its key.")
        return redirect("integrations:source-detail", pk=source.pk)
    if form.is_valid():
        grace = timedelta(hours=form.cleaned_data["grace_hours"])
        services.rotate_write_key(source=source, grace=grace)
        rotated = True
        form = RotateKeyForm()
    if not request.htmx:
        if rotated:
            messages.success(request, "A new write key is active.")
        return redirect("integrations:source-detail", pk=source.pk)
    return TemplateResponse(
        request,
        "integrations/source_detail.html#key",
        {"source": source, "rotate_form": form, "rotated": rotated},
    )


def _live_context(source) -> dict:
    minutes, counts = selectors.events_per_minute(source=source)
    chart = {
        "data": [
            {
                "type": "bar",
                "x": [m.isoformat() for m in minutes],
                "y": counts,
                "marker": {"color": "#2f5d8a"},
            }
        ],
        "layout": {
            "title": {"text": "Events per minute (last hour)"},
            "margin": {"t": 48, "r": 16, "b": 48, "l": 48},
            "yaxis": {"rangemode": "tozero"},
        },
    }
    return {
        "chart": chart,
        "events": selectors.latest_events(source=source),
        "rejections": selectors.latest_rejections(source=source),
        "suppressed": suppression.suppressed_recently(source_id=source.pk),
    }


def _trust_context(request, source) -> dict:
    """The verification secret is shown to those who manage integrations (it goes into
    the site's backend configuration), never to a page without that right."""
    if not has_capability(request.user, Cap.MANAGE_INTEGRATIONS):
        return {}
    return {"verification_secret": services.verification_secret(source=source)}


@requires(Cap.VIEW_INTEGRATIONS, write=Cap.MANAGE_INTEGRATIONS)
@require_GET
def source_detail(request, pk: int):
    source = get_object_or_404(selectors.sources(), pk=pk)
    context = {"source": source, "rotate_form": RotateKeyForm(), **_live_context(source)}
    if not request.htmx:
        context |= _trust_context(request, source)
    return TemplateResponse(
        request, _partial(request, "integrations/source_detail.html", "live"), context
    )


# Archive, restore, delete: each a confirmation (GET: what will happen, as a page or, for
# htmx, the fragment alone) and the action (POST).

CONFIRMATIONS = {
    "archive": ("Archive {name}?", "Archive"),
    "restore": ("Restore {name}?", "Restore"),
    "delete": ("Delete {name}?", "Delete for good"),
}


def _confirmation(request, source, action: str):
    """The confirmation of ``action``; deleting a source that sent events is archiving it."""
    events = selectors.source_event_count(source=source) if action != "restore" else 0
    shown = "archive" if action == "delete" and events else action
    title, button = CONFIRMATIONS[shown]
    context = {
        "source": source,
        "action": shown,
        "deleting": action == "delete",
        "title": title.format(name=source.name),
        "button": button,
        "events": events,
        "post_url": reverse(f"integrations:source-{shown}", args=[source.pk]),
        "imports": source.file_imports.count(),
        "rejections": source.rejected_events.count(),
    }
    return TemplateResponse(
        request, _partial(request, "integrations/source_confirm.html", "confirm"), context
    )


def _confirm_then(request, pk: int, action: str, change, done: str):
    """GET: the confirmation of ``action``; POST: ``change`` it, say ``done``."""
    source = get_object_or_404(selectors.sources(), pk=pk)
    if request.method != "POST":
        return _confirmation(request, source, action)
    change(source=source)
    messages.success(request, done.format(name=source.name))
    return redirect("integrations:source-detail", pk=source.pk)


@requires(Cap.MANAGE_INTEGRATIONS)
def source_archive(request, pk: int):
    done = "Archived {name}: its history is kept; Restore undoes it."
    return _confirm_then(request, pk, "archive", services.archive_source, done)


@requires(Cap.MANAGE_INTEGRATIONS)
def source_restore(request, pk: int):
    done = "Restored {name}. It stays disabled until you enable it."
    return _confirm_then(request, pk, "restore", services.restore_source, done)


@requires(Cap.MANAGE_INTEGRATIONS)
def source_delete(request, pk: int):
    source = get_object_or_404(selectors.sources(), pk=pk)
    if request.method != "POST":
        return _confirmation(request, source, "delete")
    try:
        services.delete_source(source=source)
    except services.SourceHasData as exc:
        # Events arrived since the confirmation: say so and offer to archive instead.
        messages.error(request, str(exc))
        return redirect("integrations:source-archive", pk=source.pk)
    messages.success(request, f"Deleted {source.name}.")
    return redirect("integrations:index")
