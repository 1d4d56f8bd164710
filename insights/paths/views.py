"""/insights/paths/: what people do after (or did before) an event, as a Sankey."""

from django.template.response import TemplateResponse

from cdp_site.access import requires
from cdp_site.counting import TimeLimitExceeded
from cdp_site.permissions import Cap

from . import charts
from .forms import PathsForm
from .selectors import SAMPLE, paths

TEMPLATE = "insights/paths.html"


@requires(Cap.VIEW_DASHBOARDS)
def paths_view(request):
    form = PathsForm(request.GET or {"event": "Product Viewed"})
    context = {"form": form, "sample": SAMPLE}
    if form.is_valid():
        context.update(_paths(form))
    template = f"{TEMPLATE}#paths" if request.htmx else TEMPLATE
    return TemplateResponse(request, template, context, status=400 if form.errors else 200)


def _paths(form) -> dict:
    question = form.question()
    try:
        found = paths(form.period(), **question)
    except TimeLimitExceeded:
        return {"too_slow": True}
    rows = [
        (step + 1, name, n)
        for step, counts in enumerate(found.steps)
        for name, n in counts.most_common()
    ]
    return {
        "found": found,
        "question": question,
        "rows": rows,
        "chart": charts.sankey(found, event=question["event"]),
    }
