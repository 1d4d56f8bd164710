"""Pages for destinations: list, create/edit per kind, test connection (htmx), dead
letters and their replay. Admins manage (MANAGE_INTEGRATIONS); VIEW_INTEGRATIONS reads."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from cdp_site.access import requires
from cdp_site.confirm import Deletion, confirm_delete
from cdp_site.permissions import Cap, has_capability

from . import selectors, services
from .filters import DeadLetterFilter
from .forms import DestinationForm
from .kinds import KINDS
from .models import Destination

T = "integrations/destinations/"


def _can_manage(request) -> bool:
    return has_capability(request.user, Cap.MANAGE_INTEGRATIONS)


def _config_rows(destination: Destination) -> list[tuple[str, object]]:
    labels = {f.name: f.label for f in KINDS[destination.kind].config}
    return [
        (
            labels.get(key, key.replace("_", " ")),
            ", ".join(value) if isinstance(value, list) else value,
        )
        for key, value in (destination.config or {}).items()
    ]


@requires(Cap.VIEW_INTEGRATIONS, write=Cap.MANAGE_INTEGRATIONS)
@require_GET
def destination_list(request):
    return TemplateResponse(
        request,
        T + "list.html",
        {
            "destinations": selectors.destinations(),
            "kinds": Destination.Kind.choices,
            "can_manage": _can_manage(request),
        },
    )


@requires(Cap.MANAGE_INTEGRATIONS)
def destination_create(request):
    kind = request.GET.get("kind") or request.POST.get("kind")
    if kind not in KINDS:
        return TemplateResponse(request, T + "kind.html", {"kinds": Destination.Kind.choices})
    form = DestinationForm(request.POST or None, kind=kind)
    if request.method == "POST" and form.is_valid():
        destination = services.create_destination(kind=kind, **form.service_kwargs())
        messages.success(request, f"Created {destination.name}.")
        return redirect("integrations:destination-detail", pk=destination.pk)
    return TemplateResponse(
        request,
        T + "form.html",
        {"form": form, "kind": kind, "kind_label": Destination.Kind(kind).label},
    )


@requires(Cap.MANAGE_INTEGRATIONS)
def destination_edit(request, pk: int):
    destination = get_object_or_404(Destination, pk=pk)
    form = DestinationForm(request.POST or None, kind=destination.kind, destination=destination)
    if request.method == "POST" and form.is_valid():
        services.update_destination(destination=destination, **form.service_kwargs())
        messages.success(request, f"Saved {destination.name}.")
        return redirect("integrations:destination-detail", pk=destination.pk)
    return TemplateResponse(
        request,
        T + "form.html",
        {
            "form": form,
            "destination": destination,
            "kind": destination.kind,
            "kind_label": destination.get_kind_display(),
        },
    )


@requires(Cap.VIEW_INTEGRATIONS, write=Cap.MANAGE_INTEGRATIONS)
@require_GET
def destination_detail(request, pk: int):
    destination = get_object_or_404(selectors.destinations(), pk=pk)
    return TemplateResponse(
        request,
        T + "detail.html",
        {
            "destination": destination,
            "config_rows": _config_rows(destination),
            "secret_hints": services.secret_hints(destination=destination),
            "dead_letters": selectors.dead_letters(destination=destination)[:50],
            "can_manage": _can_manage(request),
        },
    )


@requires(Cap.MANAGE_INTEGRATIONS)
def destination_delete(request, pk: int):
    """Confirms (saying what goes with it), then deletes through the service, which
    refuses while a campaign not finished sends through it."""
    destination = get_object_or_404(selectors.destinations(), pk=pk)
    return confirm_delete(
        request,
        Deletion(
            kind="destination",
            name=destination.name,
            problem=lambda: services.deletion_problem(destination=destination),
            delete=lambda: services.delete_destination(destination=destination),
            refused=(services.DestinationInUse,),
            consequences=lambda: [
                "Its settings and its stored credentials are deleted.",
                f"Its {destination.pending_dead_letters:,} dead letters waiting for a replay are "
                "deleted with it.",
                "Finished campaigns that used it keep their history.",
            ],
            back_url=reverse("integrations:destination-detail", args=[destination.pk]),
            done_url=reverse("integrations:destination-list"),
        ),
    )


@requires(Cap.MANAGE_INTEGRATIONS)
@require_POST
def destination_test(request, pk: int):
    destination = get_object_or_404(Destination, pk=pk)
    services.record_test(destination=destination)
    if not request.htmx:
        level = messages.success if destination.last_test_ok else messages.error
        level(request, destination.last_test_message)
        return redirect("integrations:destination-detail", pk=destination.pk)
    return TemplateResponse(request, T + "detail.html#test-result", {"destination": destination})


@requires(Cap.VIEW_INTEGRATIONS, write=Cap.MANAGE_INTEGRATIONS)
@require_GET
def dead_letter_list(request):
    # The page opens on the letters still waiting for a replay.
    data = request.GET.copy()
    data.setdefault("state", "pending")
    letters = DeadLetterFilter(data, queryset=selectors.dead_letters())
    return TemplateResponse(
        request,
        T + "dead_letters.html",
        {
            "dead_letters": letters.qs[:200],
            "state": data["state"],
            "can_manage": _can_manage(request),
        },
    )


@requires(Cap.MANAGE_INTEGRATIONS)
@require_POST
def dead_letter_replay(request, pk: int):
    letter = get_object_or_404(selectors.dead_letters(), pk=pk)
    if letter.destination.kind != Destination.Kind.WEBHOOK:
        raise Http404
    ok, message = services.replay_dead_letter(dead_letter=letter)
    if not request.htmx:
        (messages.success if ok else messages.error)(request, message)
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = "integrations:dead-letter-list"
        return redirect(target)
    return TemplateResponse(
        request,
        T + "dead_letters.html#row",
        {
            "letter": letter,
            "result": message,
            "ok": ok,
            "show_destination": request.POST.get("show_destination") != "0",
            "can_manage": True,
        },
    )
