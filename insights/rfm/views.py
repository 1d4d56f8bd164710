"""/insights/rfm/: the RFM grid (heatmaps of customers and of revenue per recency x
frequency cell, the segments they make), the people behind each cell or segment
(/insights/rfm/people/, saved as a static segment in one click) and recomputing the
scores on demand."""

from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from cdp_site.access import requires
from cdp_site.permissions import Cap, capabilities_of
from insights import people
from insights.reports import report_page
from profiles import services as profile_services
from profiles.computed import scores

from . import selectors
from .forms import RfmForm, RfmPeopleForm

TEMPLATE = "insights/rfm.html"
PEOPLE_TEMPLATE = "insights/rfm_people.html"


@requires(Cap.VIEW_DASHBOARDS)
def rfm(request):
    capabilities = capabilities_of(request.user)
    return report_page(
        request,
        form=RfmForm(request.GET),
        template=TEMPLATE,
        partial="grid",
        compute=lambda form: _grid(form, can_list=Cap.VIEW_PROFILES in capabilities),
        table=_table,
        can_list=Cap.VIEW_PROFILES in capabilities,
        can_recompute=Cap.MANAGE_SEGMENTS in capabilities,
    )


def _grid(form, *, can_list: bool) -> dict:
    found = selectors.grid()
    # Only someone who may see the people gets cells that click through to them.
    listing = reverse("insights:rfm-people") if can_list else None
    rows = [
        (
            r,
            [
                (f, found.customers[(r, f)], round(found.revenue[(r, f)], 2))
                for f in selectors.SCORES
            ],
        )
        for r in reversed(selectors.SCORES)
    ]
    return {
        "grid": found,
        "empty": not found.total,
        "rows": rows,
        "segment_rows": found.segments(),
        "customers_chart": _heatmap(found, found.customers, "customers", "Blues", listing),
        "revenue_chart": _heatmap(found, found.revenue, "revenue", "Greens", listing),
    }


def _heatmap(found, values: dict, what: str, colours: str, listing: str) -> dict:
    """R on the y axis (5, the most recent, on top), F on the x axis; each cell's
    customdata is the address of its people, which charts.js opens on a click."""
    r_axis = list(reversed(selectors.SCORES))
    return {
        "data": [
            {
                "type": "heatmap",
                "x": [f"F{f}" for f in selectors.SCORES],
                "y": [f"R{r}" for r in r_axis],
                "z": [[values[(r, f)] for f in selectors.SCORES] for r in r_axis],
                "text": [[scores.SEGMENTS[(r, f)] for f in selectors.SCORES] for r in r_axis],
                "customdata": [
                    [
                        f"{listing}?{urlencode({'r': r, 'f': f})}" if listing else ""
                        for f in selectors.SCORES
                    ]
                    for r in r_axis
                ],
                "hovertemplate": f"%{{y}} %{{x}} (%{{text}}): %{{z}} {what}<extra></extra>",
                "colorscale": colours,
                "reversescale": True,  # plotly's Blues and Greens run dark to light: more is darker
                "zmin": 0,
                "texttemplate": "%{z}",
            }
        ],
        "layout": {
            "margin": {"t": 24, "r": 16, "b": 48, "l": 56},
            "xaxis": {"title": {"text": "frequency score"}, "type": "category"},
            "yaxis": {
                "title": {"text": "recency score"},
                "type": "category",
                "autorange": "reversed",  # R5 (listed first) on top
            },
        },
        "clickable": bool(listing),
    }


def _table(context) -> tuple:
    found = context["grid"]
    rows = [
        [r, f, scores.SEGMENTS[(r, f)], found.customers[(r, f)], round(found.revenue[(r, f)], 2)]
        for r in reversed(selectors.SCORES)
        for f in selectors.SCORES
    ]
    return "rfm-grid", ["recency", "frequency", "segment", "customers", "revenue"], rows


@requires(Cap.MANAGE_SEGMENTS)
@require_POST
def rfm_recompute(request):
    """Queues the scores pass the schedule runs every 15 minutes
    (profiles.tasks.recompute_scores)."""
    profile_services.queue_score_recompute()
    messages.success(request, "The scores are being recomputed; reload in a minute to see them.")
    return redirect("insights:rfm")


REPORT = people.Report(
    "the RFM grid",
    selectors.TIME_LIMIT_MS,
    too_slow="These people take too long to list right now: try again in a moment.",
)


# The customers of one cell or one RFM segment; POST saves them as a static segment.
rfm_people = people.view(
    RfmPeopleForm,
    template=PEOPLE_TEMPLATE,
    report=REPORT,
    question_of=lambda form: form.question(),
    context_of=lambda form: {"as_of": scores.computed_at(), "back": reverse("insights:rfm")},
)
