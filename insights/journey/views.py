"""The journey view: /insights/journey/ (the charts load as an HTMX partial), and the
people behind each of its numbers (/insights/journey/people/)."""

from urllib.parse import urlencode

from django.urls import reverse

from cdp_site.access import requires
from cdp_site.counting import TimeLimitExceeded
from cdp_site.permissions import Cap, capabilities_of
from insights import people as shared
from insights.periods import GRANULARITIES
from insights.reports import report_page

from . import breakdown, charts, people, selectors
from .selectors import STAGES

TEMPLATE = "insights/journey.html"


@requires(Cap.VIEW_DASHBOARDS)
def journey(request):
    return report_page(
        request,
        form=breakdown.JourneyForm(request.GET),  # no parameters: the last 90 days, per week
        template=TEMPLATE,
        partial="report",
        compute=lambda form: {**_report(form), **_breakdown(form)},
        table=_people_table,
        granularities=GRANULARITIES,
        can_list=Cap.VIEW_PROFILES in capabilities_of(request.user),
    )


def _report(form) -> dict:
    period = form.period()
    found = selectors.journey(period)
    rows = [
        (
            day,
            selectors.bucket_end(day, period.granularity),
            [(s, found.people[s][i]) for s in selectors.STAGES],
        )
        for i, day in enumerate(found.buckets)
    ]
    return {
        "period": period,
        "journey": found,
        "empty": not any(any(v) for v in found.people.values()),
        "stages": [charts.LABELS[s] for s in STAGES],
        "people_rows": rows,
        "flow_rows": [(a, charts.LABELS[a], b, charts.LABELS[b], n) for a, b, n in found.flows],
        "period_query": _period_query(period),
        "time_rows": [
            (charts.LABELS[s], v["left"], v["median_s"] / 86400, v["p75_s"] / 86400)
            for s, v in found.time_in_stage.items()
        ],
        "people_chart": charts.people_per_stage(found),
        "flow_chart": charts.flows(found),
        "conversion_chart": charts.conversion(found),
        "time_chart": charts.time_in_stage(found),
    }


def _people_table(context) -> tuple:
    header = ["from", "to", *(str(s) for s in STAGES)]
    rows = [
        [first, last, *(n for _, n in counts)] for first, last, counts in context["people_rows"]
    ]
    return "journey-people-per-stage", header, rows


def _breakdown(form) -> dict:
    dimension = form.dimension()
    if dimension is None:
        return {}
    try:
        found = breakdown.breakdown(form.period(), dimension)
    except TimeLimitExceeded:
        return {"breakdown_too_slow": True}
    return {
        "breakdown": found,
        "breakdown_rows": [(g, [found.moves[g][s] for s in STAGES]) for g in found.groups],
        "breakdown_chart": charts.breakdown(found),
    }


PEOPLE_TEMPLATE = "insights/journey_people.html"
REPORT = shared.Report("the journey view", selectors.TIME_LIMIT_MS)


# The people behind one number of the journey view; POST saves them as a static segment
# ("moved from consideration to acquisition in November").
journey_people = shared.view(
    people.PeopleForm,
    template=PEOPLE_TEMPLATE,
    report=REPORT,
    question_of=lambda form: form.question(),
    context_of=lambda form: {
        "back": reverse("insights:journey") + "?" + _period_query(form.period())
    },
)


def _period_query(period) -> str:
    return urlencode(
        {"start": period.first_day, "end": period.last_day, "granularity": period.granularity}
    )
