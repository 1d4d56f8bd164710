"""The journey view: /insights/journey/ (the charts load as an HTMX partial)."""

from django.template.response import TemplateResponse

from cdp_site.access import requires
from cdp_site.counting import TimeLimitExceeded
from cdp_site.permissions import Cap
from insights.periods import GRANULARITIES, PeriodForm

from . import charts, selectors
from .selectors import STAGES

TEMPLATE = "insights/journey.html"


@requires(Cap.VIEW_DASHBOARDS)
def journey(request):
    form = PeriodForm(request.GET)  # no parameters: the last 90 days, per week
    context = {"form": form, "granularities": GRANULARITIES}
    if form.is_valid():
        context.update(_report(form))
    status = 400 if form.errors else 200
    template = f"{TEMPLATE}#report" if request.htmx else TEMPLATE
    return TemplateResponse(request, template, context, status=status)


def _report(form) -> dict:
    period = form.period()
    try:
        found = selectors.journey(period)
    except TimeLimitExceeded:
        return {"too_slow": True, "period": period}
    rows = [
        (
            day,
            selectors.bucket_end(day, period.granularity),
            [found.people[s][i] for s in selectors.STAGES],
        )
        for i, day in enumerate(found.buckets)
    ]
    return {
        "period": period,
        "journey": found,
        "empty": not any(any(v) for v in found.people.values()),
        "stages": [charts.LABELS[s] for s in STAGES],
        "people_rows": rows,
        "flow_rows": [(charts.LABELS[a], charts.LABELS[b], n) for a, b, n in found.flows],
        "time_rows": [
            (charts.LABELS[s], v["left"], v["median_s"] / 86400, v["p75_s"] / 86400)
            for s, v in found.time_in_stage.items()
        ],
        "people_chart": charts.people_per_stage(found),
        "flow_chart": charts.flows(found),
        "conversion_chart": charts.conversion(found),
        "time_chart": charts.time_in_stage(found),
    }
