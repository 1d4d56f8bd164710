"""The insights index: where each report is, and the stage distribution now."""

from django.template.response import TemplateResponse

from cdp_site.access import requires
from cdp_site.permissions import Cap

from .journey import charts, selectors


@requires(Cap.VIEW_DASHBOARDS)
def index(request):
    now = selectors.people_now()
    chart = {
        "data": [
            {
                "type": "bar",
                "x": [charts.LABELS[s] for s in selectors.STAGES],
                "y": [now[s] for s in selectors.STAGES],
                "marker": {"color": [charts.COLOURS[s] for s in selectors.STAGES]},
            }
        ],
        "layout": {"margin": charts.MARGIN, "yaxis": {"rangemode": "tozero"}},
    }
    rows = [(charts.LABELS[s], now[s]) for s in selectors.STAGES]
    return TemplateResponse(request, "insights/index.html", {"chart": chart, "rows": rows})
