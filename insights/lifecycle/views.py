"""/insights/lifecycle/: new, returning, resurrecting and dormant people per bucket."""

from cdp_site.access import requires
from cdp_site.permissions import Cap
from insights.periods import GRANULARITIES
from insights.reports import report_page

from . import charts
from .forms import LifecycleForm
from .selectors import lifecycle

TEMPLATE = "insights/lifecycle.html"
HEADER = ["bucket", "new", "returning", "resurrecting", "dormant", "active"]


@requires(Cap.VIEW_DASHBOARDS)
def lifecycle_view(request):
    return report_page(
        request,
        form=LifecycleForm(request.GET),
        template=TEMPLATE,
        partial="lifecycle",
        compute=_lifecycle,
        table=lambda context: ("lifecycle", HEADER, context["rows"]),
        granularities=GRANULARITIES,
        labels=charts.LABELS,
    )


def _lifecycle(form) -> dict:
    question = form.question()
    found = lifecycle(form.period(), **question)
    return {
        "found": found,
        "question": question,
        "period": form.period(),
        "rows": found.rows(),
        "chart": charts.bars(found),
    }
