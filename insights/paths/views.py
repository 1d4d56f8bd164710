"""/insights/paths/: what people do after (or did before) an event, as a Sankey."""

from cdp_site.access import requires
from cdp_site.permissions import Cap
from insights.reports import report_page

from . import charts
from .forms import PathsForm
from .selectors import SAMPLE, SESSION_GAP, paths

TEMPLATE = "insights/paths.html"


@requires(Cap.VIEW_DASHBOARDS)
def paths_view(request):
    form = PathsForm(request.GET or {"event": "Product Viewed"})
    return report_page(
        request,
        form=form,
        template=TEMPLATE,
        partial="paths",
        compute=_paths,
        table=lambda context: ("paths", ["step", "event", "times"], context["rows"]),
        sample=SAMPLE,
        session_gap=int(SESSION_GAP.total_seconds() // 60),
    )


def _paths(form) -> dict:
    question = form.question()
    found = paths(form.period(), **question)
    rows = [
        (step + 1, name, n)
        for step, counts in enumerate(found.steps)
        for name, n in counts.most_common()
    ]
    return {
        "found": found,
        "question": question,
        "period": form.period(),
        "rows": rows,
        "chart": charts.sankey(found, event=question["event"]),
    }
