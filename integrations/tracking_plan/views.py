"""Pages of tracking plans: the list (a new plan, or one started from a source's events),
and a plan's page: its sources and their modes, its traits, each event's schema in a
textarea checked on save, and per event the violations counted with examples. Saves go
through htmx and answer the section they changed; without htmx, the whole page.

Admins manage (MANAGE_INTEGRATIONS); VIEW_INTEGRATIONS reads, as for sources.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_POST

from cdp_site.access import requires
from cdp_site.permissions import Cap, has_capability

from . import selectors, services
from .forms import EventForm, FollowForm, InferForm, PlanForm, TraitsForm, traits_text
from .inference import infer_plan
from .models import PlannedEvent, TrackingPlan

T = "integrations/tracking_plans/"
VIEW = Cap.VIEW_INTEGRATIONS
MANAGE = Cap.MANAGE_INTEGRATIONS


def _plan(pk: int) -> TrackingPlan:
    return get_object_or_404(TrackingPlan, pk=pk)


def _page(request, plan: TrackingPlan, *, section: str = "", **forms):
    """The plan's page (or, for htmx, one section of it) with ``forms`` in place of the
    blank ones: a form with errors is shown with them (200, as the other pages answer,
    so that htmx swaps it in)."""
    planned, unplanned, traits = selectors.event_rows(plan=plan)
    saved = forms.get("saved", "")
    for row in planned:
        prefix = f"event-{row.planned.pk}"
        row.form = forms.get(prefix) or EventForm(plan=plan, event=row.planned, prefix=prefix)
        row.open = bool(row.form.errors) or saved == prefix
    context = {
        "plan": plan,
        "can_manage": has_capability(request.user, MANAGE),
        "links": selectors.plan_sources(plan=plan),
        "planned": planned,
        "unplanned": unplanned,
        "trait_row": traits,
        "plan_form": forms.get("plan_form") or PlanForm(instance=plan),
        "new_event_form": forms.get("new_event_form") or EventForm(plan=plan, prefix="new"),
        "traits_form": forms.get("traits_form")
        or TraitsForm(initial={"traits": traits_text(plan.traits)}),
        "follow_form": forms.get("follow_form") or FollowForm(),
        "saved": saved,
    }
    template = T + "detail.html" + (f"#{section}" if section and request.htmx else "")
    return TemplateResponse(request, template, context)


@requires(VIEW, write=MANAGE)
def plan_list(request):
    form = PlanForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        plan = services.create_plan(**form.cleaned_data)
        messages.success(request, f"Created {plan.name}. Add its events, or infer them.")
        return redirect("integrations:tracking-plan-detail", pk=plan.pk)
    return TemplateResponse(
        request,
        T + "list.html",
        {
            "plans": selectors.plans(),
            "form": form,
            "infer_form": InferForm(prefix="infer"),
            "can_manage": has_capability(request.user, MANAGE),
        },
    )


@requires(MANAGE)
@require_POST
def plan_infer(request):
    form = InferForm(request.POST, prefix="infer")
    if not form.is_valid():
        context = {"plans": selectors.plans(), "form": PlanForm(), "infer_form": form}
        return TemplateResponse(request, T + "list.html", context | {"can_manage": True})
    plan = infer_plan(source=form.cleaned_data["source"], name=form.cleaned_data["name"])
    messages.success(
        request,
        f"Started {plan.name} from {plan.events.count()} events seen; "
        f"{form.cleaned_data['source'].name} follows it, flagging what breaks it.",
    )
    return redirect("integrations:tracking-plan-detail", pk=plan.pk)


@requires(VIEW, write=MANAGE)
def plan_detail(request, pk: int):
    plan = _plan(pk)
    if request.method != "POST":
        return _page(request, plan)
    form = PlanForm(request.POST, instance=plan)
    if not form.is_valid():
        return _page(request, plan, section="settings", plan_form=form)
    services.update_plan(plan=plan, **form.cleaned_data)
    return _page(request, plan, section="settings", saved="settings")


@requires(MANAGE)
@require_POST
def plan_delete(request, pk: int):
    plan = _plan(pk)
    services.delete_plan(plan=plan)
    messages.success(request, f"Deleted {plan.name}: its sources follow no plan now.")
    return redirect("integrations:tracking-plan-list")


@requires(MANAGE)
@require_POST
def event_add(request, pk: int):
    plan = _plan(pk)
    form = EventForm(request.POST, plan=plan, prefix="new")
    if not form.is_valid():
        return _page(request, plan, section="events", new_event_form=form)
    services.save_event(plan=plan, **form.cleaned_data)
    return _page(request, plan, section="events", saved="events")


@requires(MANAGE)
@require_POST
def event_save(request, pk: int, event_pk: int):
    plan = _plan(pk)
    event = get_object_or_404(PlannedEvent, plan=plan, pk=event_pk)
    form = EventForm(request.POST, plan=plan, event=event, prefix=f"event-{event.pk}")
    if not form.is_valid():
        forms = {f"event-{event.pk}": form}
        return _page(request, plan, section="events", **forms)
    services.save_event(plan=plan, event=event, **form.cleaned_data)
    return _page(request, plan, section="events", saved=f"event-{event.pk}")


@requires(MANAGE)
@require_POST
def event_delete(request, pk: int, event_pk: int):
    plan = _plan(pk)
    services.delete_event(event=get_object_or_404(PlannedEvent, plan=plan, pk=event_pk))
    return _page(request, plan, section="events", saved="events")


@requires(MANAGE)
@require_POST
def traits_save(request, pk: int):
    plan = _plan(pk)
    form = TraitsForm(request.POST)
    if not form.is_valid():
        return _page(request, plan, section="traits", traits_form=form)
    services.set_traits(plan=plan, traits=form.cleaned_data["traits"])
    return _page(request, plan, section="traits", saved="traits")


@requires(MANAGE)
@require_POST
def sources_save(request, pk: int):
    """Adds a source (or changes its mode) with ``source`` and ``mode``; ``remove`` (a
    source id) stops one following the plan."""
    plan = _plan(pk)
    remove = request.POST.get("remove", "")
    if remove:
        link = get_object_or_404(plan.links, source_id=remove if remove.isdigit() else 0)
        services.unfollow(plan=plan, source=link.source)
        return _page(request, plan, section="sources", saved="sources")
    form = FollowForm(request.POST)
    if not form.is_valid():
        return _page(request, plan, section="sources", follow_form=form)
    services.follow(plan=plan, **form.cleaned_data)
    return _page(request, plan, section="sources", saved="sources")
