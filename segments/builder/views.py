"""The visual builder's pages (new and edit) with its live estimate and property picker.

The builder posts the whole tree on every change (input names are rule paths, see
fields.py); the server rebuilds the rule, applies the button pressed (add or remove a
condition, group or property filter), and re-renders the tree. Saving validates
through the services and goes to the segment's page."""

from __future__ import annotations

from django.db import DatabaseError
from django.db.models import F
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from cdp_site.access import requires
from cdp_site.counting import TimeLimitExceeded, time_limit
from cdp_site.permissions import Cap, capabilities_of
from profiles import masking

from .. import catalog, compiler, services
from ..forms import SegmentForm
from ..models import Segment
from ..views import detail_url
from . import fields
from . import tree as tree_view

BUILDER = "segments/builder.html"
SAMPLE_SIZE = 10
ESTIMATE_TIMEOUT_MS = 5000


def _context(request, *, segment, form, tree, focus=None) -> dict:
    pickers = catalog.for_builder(segment_id=segment.pk if segment else None)
    return {
        "segment": segment,
        "form": form,
        "tree": tree,
        "root": tree_view.view(tree, focus=focus),
        "catalog": pickers,
        "condition_types": fields.CONDITION_TYPES,
        "ops": fields.OPS,
        "count_ops": fields.COUNT_OPS,
        "action_url": (
            reverse("segments:edit", args=[segment.pk]) if segment else reverse("segments:new")
        ),
    }


def _render(request, context: dict, *, status: int = 200, changed: bool = False):
    name = f"{BUILDER}#builder-body" if request.htmx else BUILDER
    response = TemplateResponse(request, name, context, status=200 if request.htmx else status)
    if changed:
        response["HX-Trigger"] = "rule-changed"
    return response


def _typed_in(request) -> dict:
    """The name, description and options as posted, to show again beside the tree."""
    typed = {k: request.POST.get(k, "") for k in ("name", "description")}
    on_site = request.POST.get("on_site") in ("on", "true", "1")
    return {**typed, "include_restricted": _asks_restricted(request), "on_site": on_site}


def _asks_restricted(request) -> bool:
    return request.POST.get("include_restricted") in ("on", "true", "1")


@requires(Cap.MANAGE_SEGMENTS)
def new(request):
    return _builder(request, None)


@requires(Cap.MANAGE_SEGMENTS)
def edit(request, pk: int):
    return _builder(request, get_object_or_404(Segment, pk=pk))


def _builder(request, segment: Segment | None):
    if request.method != "POST":
        if segment is not None:
            rule = segment.rule or fields.empty_rule()
            form = SegmentForm(
                initial={
                    "name": segment.name,
                    "description": segment.description,
                    "include_restricted": segment.include_restricted,
                    "on_site": segment.on_site,
                }
            )
        else:
            rule = fields.empty_rule()
            rule["root"]["children"].append(fields.empty_condition("trait"))
            form = SegmentForm()
        return _render(
            request, _context(request, segment=segment, form=form, tree=tree_view.Tree.of(rule))
        )

    rule = fields.fields_to_rule(request.POST)
    action = request.POST.get("_action", "save")
    form = SegmentForm(request.POST)
    if action not in ("save", "check"):
        if action == "refresh":
            focus = None
        else:
            _verb, _, path = action.partition(":")
            add_type = request.POST.get(f"{path}._add", "trait")
            focus = fields.apply_action(rule, action, add_type=add_type)
        form = SegmentForm(initial=_typed_in(request))
        context = _context(
            request, segment=segment, form=form, tree=tree_view.Tree.of(rule), focus=focus
        )
        return _render(request, context, changed=True)

    dynamic = segment is None or segment.kind == Segment.Kind.DYNAMIC
    errors = []
    if dynamic:
        try:
            services.check_rule(rule, segment_id=segment.pk if segment else None)
        except services.SegmentError as error:
            errors = error.errors
    if action == "save" and form.is_valid() and not errors:
        values = {
            "name": form.cleaned_data["name"],
            "description": form.cleaned_data["description"],
            "rule": rule if dynamic else segment.rule,
            "include_restricted": form.cleaned_data["include_restricted"] if dynamic else None,
            "on_site": form.cleaned_data["on_site"],
        }
        try:
            if segment is None:
                segment = services.create_segment(created_by=request.user, **values)
            else:
                segment = services.update_segment(segment=segment, **values)
        except services.SegmentError as error:
            errors = error.errors
        else:
            url = detail_url(segment)
            if request.htmx:
                response = HttpResponse(status=204)
                response["HX-Redirect"] = url
                return response
            return redirect(url)
    if action == "check":
        form = SegmentForm(initial=_typed_in(request))
    tree = tree_view.Tree.of(rule, errors)
    context = _context(request, segment=segment, form=form, tree=tree)
    context["saved_failed"] = action == "save"
    return _render(request, context, status=400)


@requires(Cap.MANAGE_SEGMENTS)
@require_POST
def estimate(request):
    """The live size estimate and a sample of matching profiles for the posted tree."""
    rule = fields.fields_to_rule(request.POST)
    segment_id = request.POST.get("segment_id", "")
    context = {"rule_errors": [], "count": None, "sample": [], "timed_out": False}
    try:
        services.check_rule(rule, segment_id=int(segment_id) if segment_id.isdigit() else None)
    except services.SegmentError as error:
        context["rule_errors"] = error.errors
        return TemplateResponse(request, "segments/builder_estimate.html", context)
    try:
        with time_limit(ESTIMATE_TIMEOUT_MS):
            matching = compiler.queryset(rule, include_restricted=_asks_restricted(request))
            context["count"] = matching.count()
            context["sample"] = list(
                matching.order_by(F("last_seen_at").desc(nulls_last=True), "-pk")[:SAMPLE_SIZE]
                if context["count"]
                else []
            )
    except (TimeLimitExceeded, DatabaseError):
        context["timed_out"] = True
    context["sample"] = masking.masker_for_request(request).profiles(context["sample"])
    return TemplateResponse(request, "segments/builder_estimate.html", context)


@requires(Cap.VIEW_DASHBOARDS)
@require_GET
def properties(request):
    """The property keys seen on recent events of the name in the posted field ``field``
    (the event name input of the filter's condition): a datalist's options. The funnel
    builder (insights) uses it too, for people who only read dashboards: keys and types
    are no personal data, an example value may be, so examples only for those who may
    view profiles."""
    event = request.GET.get(request.GET.get("field", ""), "")[:200].strip()
    keys = catalog.property_keys(event)
    if Cap.VIEW_PROFILES not in capabilities_of(request.user):
        keys = [{**key, "example": ""} for key in keys]
    context = {"list_id": request.GET.get("list", "")[:100], "keys": keys}
    return TemplateResponse(request, "segments/builder_properties.html", context)
