"""/insights/funnels/: build a funnel (its URL shares it), see each step's people and
conversion, save it, and save who dropped off at a step as a segment."""

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
from segments.catalog import event_names

from . import services
from .forms import FunnelForm, query_of
from .selectors import MAX_STEPS, funnel, steps_of

TEMPLATE = "insights/funnels.html"


@requires(Cap.VIEW_DASHBOARDS, write=Cap.MANAGE_SEGMENTS)
def funnels(request):
    data = request.POST if request.method == "POST" else request.GET
    asked = any(key.startswith("event_") for key in data)
    form = FunnelForm(data if asked else None)
    context = {
        "form": form,
        "saved": Funnel.objects.all(),
        "event_names": event_names(),
        "can_save": Cap.MANAGE_SEGMENTS in capabilities_of(request.user),
        "rows": _rows(form, data),
    }
    if asked and form.is_valid():
        if request.method == "POST":
            return _save(request, form)
        context.update(_result(form))
        if wants_csv(request) and "result_rows" in context:
            rows = [
                (k + 1, name, n, share, median)
                for k, name, n, share, median in context["result_rows"]
            ]
            header = ["step", "event", "people", "share of the step before", "median seconds"]
            return csv_response(name="funnel", header=header, rows=rows)
    status = 400 if form.is_bound and form.errors else 200
    template = f"{TEMPLATE}#result" if request.htmx else TEMPLATE
    return TemplateResponse(request, template, context, status=status)


def _rows(form, data) -> list[tuple]:
    """The step rows to show: those asked, and one empty row to add a step."""
    given = FunnelForm.steps(data)
    shown = min(max(len(given) + 1, 2), MAX_STEPS)
    return [
        (k, data.get(f"event_{k}", ""), data.get(f"property_{k}", ""), data.get(f"value_{k}", ""))
        for k in range(1, shown + 1)
    ]


def _result(form) -> dict:
    question = form.question()
    try:
        found = funnel(form.period(), **question)
    except TimeLimitExceeded:
        return {"too_slow": True}
    steps = question["steps"]
    rows = [
        (k, step.describe(), n, share, median)
        for k, (step, n, share, median) in enumerate(
            zip(steps, found.counts, found.conversion(), found.median_s, strict=True)
        )
    ]
    chart = {
        "data": [
            {
                "type": "funnel",
                "y": [f"{k + 1}. {s.describe()}" for k, s in enumerate(steps)],
                "x": found.counts,
                "textinfo": "value+percent initial",
            }
        ],
        "layout": {"margin": {"t": 24, "r": 16, "b": 24, "l": 200}},
    }
    query = {key: value for key, value in form.data.items() if key != "csrfmiddlewaretoken"}
    return {
        "found": found,
        "question": question,
        "result_rows": rows,
        "chart": chart,
        "query": query,
    }


def _save(request, form):
    question = form.question()
    saved = services.save_funnel(name=request.POST.get("name", ""), user=request.user, **question)
    messages.success(request, f"Funnel “{saved.name}” saved.")
    return redirect("insights:funnel", pk=saved.pk)


@requires(Cap.VIEW_DASHBOARDS)
def saved_funnel(request, pk: int):
    """A saved funnel opens as its shareable URL."""
    found = get_object_or_404(Funnel, pk=pk)
    query = query_of(steps=steps_of(found), window_days=found.window_days, ordered=found.ordered)
    return redirect(reverse("insights:funnels") + "?" + urlencode(query))


@requires(Cap.MANAGE_SEGMENTS)
@require_POST
def save_drop_offs(request):
    form = FunnelForm(request.POST)
    at = request.POST.get("at", "")
    if not form.is_valid() or not at.isdigit() or int(at) >= len(form.question()["steps"]) - 1:
        messages.error(request, "That funnel or step is not valid any more: build it again.")
        return redirect("insights:funnels")
    try:
        segment = services.save_drop_offs(
            period=form.period(),
            question=form.question(),
            at=int(at),
            name=request.POST.get("name", ""),
            user=request.user,
        )
    except TimeLimitExceeded:
        messages.error(request, "These people take too long to list: choose a shorter period.")
        return redirect(reverse("insights:funnels") + "?" + urlencode(request.POST.dict()))
    messages.success(request, f"Saved {segment.member_count:,} people as “{segment.name}”.")
    return redirect("segments:detail", pk=segment.pk)
