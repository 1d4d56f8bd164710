"""Campaign pages: the list, the gallery, the journey page (the flow with live counts per
step, the status with Start / Pause / Resume, and the editor of settings and steps on the
same page), a campaign's results, and the panel on a person's profile page.

The editor posts every field on each change (input names are the grammar's paths, see
campaigns/journeys/editor.py); the server rebuilds the steps, applies the button pressed
(add, remove, move a step, add or remove a variant) and re-renders the editor. Saving
validates (errors next to their fields) and writes through campaigns/services."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from cdp_site.access import requires
from cdp_site.confirm import Deletion, confirm_delete
from cdp_site.permissions import Cap, has_capability
from integrations.models import Destination
from profiles import selectors as profile_selectors
from segments import catalog
from segments import explain as segment_explain
from segments.models import Segment

from . import entry_conditions, gallery, results, selectors, services, step_types
from .forms import CampaignSettingsForm, NewCampaignForm
from .journeys import buttons as journey_buttons
from .journeys import editor as journey_editor
from .journeys import entry_fields
from .journeys import grammar as steps_grammar
from .models import ActivationSettings, Campaign, Enrollment, MessageTemplate

PAGE = "campaigns/campaign_detail.html"


def _service_errors(error: Exception) -> list[dict]:
    """A service's refusal as [{"field", "message"}]."""
    errors = getattr(error, "errors", None)
    if isinstance(errors, list) and all(isinstance(e, dict) for e in errors):
        return [{"field": e.get("field", ""), "message": e.get("message", "")} for e in errors]
    if isinstance(error, ValidationError):
        return [{"field": "", "message": m} for m in error.messages]
    return [{"field": "", "message": str(error)}]


# What a service refuses with (each carries its errors as [{"field", "message"}]).
REFUSALS = (ValidationError, ValueError, services.CampaignError, steps_grammar.StepsError)
STATUS_CHANGES = {
    "start": services.start_campaign,
    "pause": services.pause_campaign,
    "resume": services.resume_campaign,
}


# The list ------------------------------------------------------------------------------


@requires(Cap.VIEW_CAMPAIGNS)
def index(request):
    context = {
        "campaigns": selectors.campaign_list(),
        "can_manage": has_capability(request.user, Cap.MANAGE_CAMPAIGNS),
    }
    return TemplateResponse(request, "campaigns/index.html", context)


@requires(Cap.MANAGE_CAMPAIGNS)
def new(request):
    form = NewCampaignForm(request.POST or None, initial={"conversion_window_days": 7})
    if request.method == "POST" and form.is_valid():
        steps = [journey_buttons.empty_step("wait", [])]
        values = form.values()
        try:
            campaign = services.create_campaign(steps=steps, created_by=request.user, **values)
        except REFUSALS as error:
            for item in _service_errors(error):
                form.add_error(None, item["message"])
            campaign = None
        if campaign is not None:
            return redirect("campaigns:detail", campaign.pk)
    context = {"form": form, "event_names": _event_names()}
    return TemplateResponse(request, "campaigns/campaign_new.html", context)


# The gallery ---------------------------------------------------------------------------


@requires(Cap.VIEW_CAMPAIGNS, write=Cap.MANAGE_CAMPAIGNS)
def gallery_view(request):
    if request.method == "POST":
        key = request.POST.get("key", "")
        if key not in gallery.BY_KEY:
            raise Http404("No such journey in the gallery.")
        campaign = gallery.create(key=key, created_by=request.user)
        return redirect("campaigns:detail", campaign.pk)
    context = {
        "stages": gallery.by_stage(),
        "can_manage": has_capability(request.user, Cap.MANAGE_CAMPAIGNS),
        "smtp": gallery.smtp_destination(),
    }
    return TemplateResponse(request, "campaigns/gallery.html", context)


# The journey page ----------------------------------------------------------------------


def _event_names() -> list[str]:
    return list(catalog.for_builder(segment_id=None).get("event_names", []))[:500]


def _pickers() -> dict:
    destinations = list(Destination.objects.filter(enabled=True).only("pk", "name", "kind"))
    return {
        "templates": list(
            MessageTemplate.objects.filter(channel=MessageTemplate.Channel.EMAIL).only("pk", "name")
        ),
        "sms_templates": list(
            MessageTemplate.objects.filter(channel=MessageTemplate.Channel.SMS).only("pk", "name")
        ),
        "destinations": {
            name: [d for d in destinations if d.kind in step_type.destination_kinds]
            for name, step_type in step_types.TYPES.items()
            if step_type.destination_kinds
        },
        "segments": list(Segment.objects.only("pk", "name").order_by("name")),
        "event_names": _event_names(),
    }


def _flow_context(campaign: Campaign) -> dict:
    steps = campaign.steps if isinstance(campaign.steps, list) else []
    flow = selectors.layout(steps) if steps else None
    counts = selectors.step_counts(campaign)
    empty = {"waiting": 0, "passed": 0, "exited": 0, "converted": 0, "outcomes": {}}
    if flow:
        for box in flow["boxes"]:
            box["counts"] = counts.get(box["id"], empty)
            box["type_label"] = journey_editor.type_label(box["step"].get("type"))
            box["summary"] = _summary(box["step"])
    return {"flow": flow, "totals": selectors.totals(campaign), "campaign": campaign}


def _entry_summary(campaign: Campaign) -> dict:
    """The saved entry conditions in words, for the page's header."""
    audience = campaign.entry_audience
    return {
        "filters": [
            entry_conditions.describe_filter(f)
            for f in campaign.trigger_filters or []
            if isinstance(f, dict)
        ],
        "audience": segment_explain.describe(audience) if isinstance(audience, dict) else "",
    }


def _summary(step: dict) -> str:
    step_type = step_types.of(step)
    return step_type.describe(step) if step_type else ""


def _page_context(
    request,
    campaign,
    *,
    form=None,
    steps=None,
    entry=None,
    errors=None,
    focus=None,
    status_errors=None,
) -> dict:
    steps = campaign.steps if steps is None else steps
    if errors is None:
        errors = journey_editor.check(steps) if isinstance(steps, list) and steps else []
    filters, audience = entry or (campaign.trigger_filters or [], campaign.entry_audience)
    can_manage = has_capability(request.user, Cap.MANAGE_CAMPAIGNS)
    pickers = _pickers()
    journey_errors = [e for e in errors if not entry_fields.is_entry_error(e)]
    editor = journey_editor.editor_view(steps if isinstance(steps, list) else [], journey_errors)
    for step in editor["steps"]:
        step["destinations"] = pickers["destinations"].get(step["type"], [])
    context = _flow_context(campaign)
    context.update(
        {
            "form": form or CampaignSettingsForm.for_campaign(campaign),
            "editor": editor,
            "entry": entry_fields.entry_view(filters, audience, errors),
            "entry_summary": _entry_summary(campaign),
            "action_url": reverse("campaigns:detail", args=[campaign.pk]),
            "step_choices": [
                (s.get("id"), s.get("label") or s.get("id"))
                for s in steps
                if isinstance(s, dict) and s.get("id")
            ],
            "step_types": journey_editor.step_types_menu(),
            "pickers": pickers,
            "can_manage": can_manage,
            "status_errors": status_errors or [],
            "protection": selectors.protection_of(campaign, ActivationSettings.load()),
            "focus": focus,
        }
    )
    return context


@requires(Cap.VIEW_CAMPAIGNS, write=Cap.MANAGE_CAMPAIGNS)
def detail(request, pk: int):
    campaign = get_object_or_404(Campaign.objects.select_related("segment"), pk=pk)
    if request.method != "POST":
        return TemplateResponse(request, PAGE, _page_context(request, campaign))

    steps = journey_editor.fields_to_steps(request.POST)
    action = request.POST.get("_action", "save")
    form = CampaignSettingsForm(request.POST)
    filters = entry_fields.fields_to_filters(request.POST)
    audience = entry_fields.fields_to_audience(request.POST)
    entry = (filters, audience)
    if action not in ("save", "refresh"):
        if not entry_fields.apply_action(filters, action):
            add_type = request.POST.get("_add_type", "wait")
            journey_buttons.apply_action(steps, action, add_type=add_type)
        form.is_valid()
        context = _page_context(
            request, campaign, form=form, steps=steps, entry=entry, errors=[], focus=action
        )
        return _editor(request, context)
    if action == "refresh":
        form.is_valid()
        context = _page_context(request, campaign, form=form, steps=steps, entry=entry, errors=[])
        return _editor(request, context)

    errors = journey_editor.check(steps) + entry_fields.check(filters, audience)
    if form.is_valid() and not errors:
        values = form.values()
        try:
            services.update_campaign(
                campaign=campaign,
                steps=steps,
                trigger_filters=filters,
                entry_audience=audience,
                **values,
            )
        except REFUSALS as error:
            errors = []
            for item in _service_errors(error):
                if item["field"] in form.fields:
                    form.add_error(item["field"], item["message"])
                else:
                    errors.append(item)
            campaign.refresh_from_db()
        else:
            url = reverse("campaigns:detail", args=[campaign.pk]) + "?saved=1"
            if request.htmx:
                response = HttpResponse(status=204)
                response["HX-Redirect"] = url
                return response
            return redirect(url)
    context = _page_context(request, campaign, form=form, steps=steps, entry=entry, errors=errors)
    context["save_failed"] = True
    return _editor(request, context, status=400)


def _editor(request, context: dict, *, status: int = 200):
    name = f"{PAGE}#editor-body" if request.htmx else PAGE
    return TemplateResponse(request, name, context, status=200 if request.htmx else status)


@requires(Cap.VIEW_CAMPAIGNS)
@require_GET
def flow(request, pk: int):
    """The flow with its live counts (polled by the journey page)."""
    campaign = get_object_or_404(Campaign, pk=pk)
    return TemplateResponse(request, f"{PAGE}#flow", _flow_context(campaign))


@requires(Cap.MANAGE_CAMPAIGNS)
@require_POST
def change_status(request, pk: int, action: str):
    """Start, pause or resume through campaigns/services; a journey with problems (e.g.
    an e-mail step without a destination) is refused with them."""
    campaign = get_object_or_404(Campaign, pk=pk)
    errors: list[dict] = []
    if action == "start" or action == "resume":
        errors = journey_editor.check(campaign.steps)
    if not errors:
        try:
            STATUS_CHANGES[action](campaign=campaign)
        except REFUSALS as error:
            errors = _service_errors(error)
    if errors:
        campaign.refresh_from_db()
        context = _page_context(request, campaign, status_errors=errors)
        if request.htmx:
            return TemplateResponse(request, f"{PAGE}#status", context)
        return TemplateResponse(request, PAGE, context, status=400)
    labels = {"start": "Started.", "pause": "Paused.", "resume": "Resumed."}
    messages.success(request, labels[action])
    url = reverse("campaigns:detail", args=[campaign.pk])
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


@requires(Cap.MANAGE_CAMPAIGNS)
def delete(request, pk: int):
    """Confirms, then deletes through campaigns.services (refused while active)."""
    campaign = get_object_or_404(Campaign, pk=pk)
    return confirm_delete(
        request,
        Deletion(
            kind="campaign",
            name=campaign.name,
            problem=lambda: services.deletion_problem(campaign=campaign),
            delete=lambda: services.delete_campaign(campaign=campaign),
            refused=(services.CampaignError,),
            consequences=lambda: selectors.deletion_consequences(campaign=campaign),
            back_url=reverse("campaigns:detail", args=[campaign.pk]),
            done_url=reverse("campaigns:index"),
        ),
    )


# The results page ------------------------------------------------------------------------


def _pct(value, sign=False) -> str:
    if value is None:
        return "–"
    return f"{value * 100:+.1f}" if sign else f"{value * 100:.1f}%"


def _results_context(campaign):
    data = results.campaign_results(campaign)
    lift = data["lift"]
    return {
        "campaign": campaign,
        "results": data,
        "charts": results.charts(data),
        "lift_pct": {
            "treated_rate": _pct(lift.treated_rate),
            "holdout_rate": _pct(lift.holdout_rate),
            "difference": _pct(lift.difference, sign=True),
            "ci_low": _pct(lift.ci_low, sign=True),
            "ci_high": _pct(lift.ci_high, sign=True),
        },
        "funnel_id": f"funnel-chart-{campaign.pk}",
        "time_id": f"time-chart-{campaign.pk}",
    }


@requires(Cap.VIEW_CAMPAIGNS)
def campaign_results(request, campaign_id):
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    return TemplateResponse(request, "campaigns/results.html", _results_context(campaign))


@requires(Cap.VIEW_CAMPAIGNS)
def campaign_results_panel(request, campaign_id):
    """The results as a fragment, for the journey page's panel (loaded by htmx)."""
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        raise Http404
    return TemplateResponse(request, "campaigns/results_body.html", _results_context(campaign))


# The profile page's panel ----------------------------------------------------------------


@requires(Cap.VIEW_PROFILES)
@require_GET
def profile_panel(request, profile_id: int):
    """The person's journeys (campaign, step, state, since) and messages (sent, opened,
    clicked, skipped with the reason)."""

    active = profile_selectors.active_profile_id(profile_id=profile_id)
    if active is None:
        raise Http404("No such profile.")
    enrollments = selectors.profile_enrollments(profile_id=active)
    for enrollment in enrollments:
        enrollment.since = selectors.since(enrollment)
        steps = [s for s in enrollment.campaign.steps or [] if isinstance(s, dict)]
        step = next((s for s in steps if s.get("id") == enrollment.step_id), {})
        enrollment.step_label = step.get("label") or enrollment.step_id or "—"
    context = {
        "profile_id": active,
        "enrollments": enrollments,
        "deliveries": selectors.profile_deliveries(profile_id=active),
        "can_view_campaigns": has_capability(request.user, Cap.VIEW_CAMPAIGNS),
        "waiting_states": (Enrollment.State.ACTIVE, Enrollment.State.WAITING_EVENT),
    }
    return TemplateResponse(request, "campaigns/campaign_profile_panel.html", context)
