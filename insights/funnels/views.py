"""/insights/funnels/: build a funnel (its URL shares it), see each step's people and
conversion, over time and broken down, save it, and save who dropped off at a step as a
segment.

The builder is one GET form: its buttons (add a step, move, remove, add a property
filter) send ``_action`` and get the step rows back (the ``steps`` partial for htmx, the
whole page without JS); Show gets the result (the ``result`` partial for htmx, with the
shareable URL pushed)."""

from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from cdp_site.access import requires
from cdp_site.counting import TimeLimitExceeded
from cdp_site.permissions import Cap, capabilities_of
from insights.downloads import csv_response, wants_csv
from insights.models import Funnel
from insights.periods import GRANULARITIES
from segments import grammar
from segments.catalog import event_names

from . import builder, charts, services
from .forms import FunnelForm, apply_action, query_of_saved, steps_in
from .selectors import funnel, unknown_events

TEMPLATE = "insights/funnels.html"
CSV_HEADER = ["step", "event", "people", "share of the step before", "median seconds"]


def _context(request, form, **extra) -> dict:
    return {
        "form": form,
        "saved": Funnel.objects.all(),
        "event_names": event_names(),
        "granularities": GRANULARITIES,
        "can_save": Cap.MANAGE_SEGMENTS in capabilities_of(request.user),
        "action_url": reverse("insights:funnel-steps"),
        **extra,
    }


@requires(Cap.VIEW_DASHBOARDS, write=Cap.MANAGE_SEGMENTS)
def funnels(request):
    data = request.POST if request.method == "POST" else request.GET
    if "_action" in data:
        return _steps(request, data)
    asked = bool(steps_in(data))
    # Not asked yet: the period or options in the address still fill the form.
    form = FunnelForm(data if asked else None, initial={k: v for k, v in data.items() if v})
    if asked and form.is_valid():
        if request.method == "POST":
            return _save(request, form)
        result = _result(form)
        if wants_csv(request) and "result_rows" in result:
            return _csv(request.GET.get("table", ""), result)
    else:
        result = {}
    context = _context(request, form, **builder.rows(form.steps, errors=form.errors), **result)
    status = 400 if form.is_bound and form.errors else 200
    if request.htmx:
        # Errors answer 200 (htmx swaps no 4xx), the step rows with theirs next to their
        # inputs swapped out of band.
        context["oob"] = bool(status == 400 and form.steps)
        response = TemplateResponse(request, f"{TEMPLATE}#result", context)
        if asked:
            response["HX-Push-Url"] = reverse("insights:funnels") + "?" + _canonical(data)
        return response
    return TemplateResponse(request, TEMPLATE, context, status=status)


@requires(Cap.VIEW_DASHBOARDS, write=Cap.VIEW_DASHBOARDS)
def funnel_steps(request):
    """The step rows after a builder action (the segment builder's comparison picker
    posts here on change: it reads, it saves nothing)."""
    return _steps(request, request.POST if request.method == "POST" else request.GET)


def _steps(request, data):
    steps = steps_in(data)
    focus = apply_action(steps, data.get("_action", ""))
    form = FunnelForm(data)
    context = _context(request, form, building=True, **builder.rows(steps, focus=focus))
    if request.htmx:
        response = TemplateResponse(request, f"{TEMPLATE}#steps", context)
        response["HX-Retarget"], response["HX-Reswap"] = "#funnel-steps", "outerHTML"
        return response
    return TemplateResponse(request, TEMPLATE, context)


def _csv(table: str, result: dict):
    """The steps' table, or with ``table`` the over-time or breakdown table."""
    if table == "time":
        header = ["entered in", "started", "finished", "conversion %"]
        return csv_response(name="funnel-over-time", header=header, rows=result["time_rows"])
    if table == "by" and "by_rows" in result:
        steps = [f"step {k + 1}" for k in range(len(result["result_rows"]))]
        rows = [(group, *counts, pct) for group, counts, pct in result["by_rows"]]
        header = [result["by_label"], *steps, "conversion %"]
        return csv_response(name="funnel-breakdown", header=header, rows=rows)
    rows = [(k + 1, *row) for k, *row, _ in result["result_rows"]]
    return csv_response(name="funnel", header=CSV_HEADER, rows=rows)


def _canonical(data) -> str:
    """The funnel's own URL parameters: what was asked, less the form's machinery."""
    skip = {"csrfmiddlewaretoken", "_action", "format", "name"}
    return urlencode([(k, v) for k, v in data.items() if k not in skip and v != ""])


def _result(form) -> dict:
    question = form.question()
    by = form.breakdown()
    try:
        found = funnel(form.period(), **question, by=by)
        unknown = unknown_events(question["steps"])
    except TimeLimitExceeded:
        return {"too_slow": True}
    steps = question["steps"]
    rows = [
        (k, step.describe(), n, share, median, charts.took(median))
        for k, (step, n, share, median) in enumerate(
            zip(steps, found.counts, found.conversion(), found.median_s, strict=True)
        )
    ]
    time_chart, time_rows = charts.over_time(found)
    context = {
        "found": found,
        "question": question,
        "result_rows": rows,
        "chart": charts.funnel_chart(steps, found),
        "time_chart": time_chart,
        "time_rows": time_rows,
        "unknown": unknown,
        "query": {k: v for k, v in form.data.items() if k != "csrfmiddlewaretoken"},
        "canonical": _canonical(form.data),
    }
    if by:
        context["by_chart"], context["by_rows"] = charts.breakdown(steps, found)
        context["by_label"] = by.label()
    return context


def _name_problem(name: str) -> str | None:
    """What is wrong with a name typed for a funnel or a segment (the grammar's check of
    text: NUL and lone surrogates cannot be stored), or None."""
    checked = grammar.Validator()
    return (
        None if not name or checked.text("name", name, "a name") else checked.errors[0]["message"]
    )


def _back(request, message: str):
    messages.error(request, message)
    return redirect(reverse("insights:funnels") + "?" + _canonical(request.POST))


def _save(request, form):
    question = form.question()
    if problem := _name_problem(request.POST.get("name", "")):
        return _back(request, problem)
    saved = services.save_funnel(
        name=request.POST.get("name", ""),
        user=request.user,
        breakdown=form.breakdown(),
        **question,
    )
    messages.success(request, f"Funnel “{saved.name}” saved.")
    return redirect("insights:funnel", pk=saved.pk)


@requires(Cap.VIEW_DASHBOARDS)
def saved_funnel(request, pk: int):
    """A saved funnel opens as its shareable URL."""
    found = get_object_or_404(Funnel, pk=pk)
    return redirect(reverse("insights:funnels") + "?" + urlencode(query_of_saved(found)))


@requires(Cap.MANAGE_SEGMENTS)
@require_POST
def save_drop_offs(request):
    form = FunnelForm(request.POST)
    at = request.POST.get("at", "")
    if not form.is_valid() or not at.isdigit() or int(at) >= len(form.question()["steps"]) - 1:
        messages.error(request, "That funnel or step is not valid any more: build it again.")
        return redirect("insights:funnels")
    if problem := _name_problem(request.POST.get("name", "")):
        return _back(request, problem)
    try:
        segment = services.save_drop_offs(
            period=form.period(),
            question=form.question(),
            at=int(at),
            name=request.POST.get("name", ""),
            user=request.user,
        )
    except TimeLimitExceeded:
        return _back(request, "These people take too long to list: choose a shorter period.")
    messages.success(request, f"Saved {segment.member_count:,} people as “{segment.name}”.")
    return redirect("segments:detail", pk=segment.pk)


@requires(Cap.MANAGE_SEGMENTS)
@require_POST
def delete_funnel(request, pk: int):
    found = get_object_or_404(Funnel, pk=pk)
    services.delete_funnel(funnel=found)
    messages.success(request, f"Funnel “{found.name}” deleted.")
    return redirect("insights:funnels")
