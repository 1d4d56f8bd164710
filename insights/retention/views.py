"""/insights/retention/: the cohort retention grid (a heatmap and its table)."""

from cdp_site.access import requires
from cdp_site.permissions import Cap
from insights.periods import GRANULARITIES
from insights.reports import report_page

from .forms import RetentionForm
from .selectors import retention

TEMPLATE = "insights/retention.html"


@requires(Cap.VIEW_DASHBOARDS)
def retention_grid(request):
    form = RetentionForm(request.GET or {"returning_event": "Order Completed"})
    return report_page(
        request,
        form=form,
        template=TEMPLATE,
        partial="grid",
        compute=_grid,
        table=_table,
        granularities=GRANULARITIES,
    )


def _table(context) -> tuple:
    rows = context["rows"]
    later = [f"+{k} people" for k in range(len(rows[0][2]) if rows else 0)]
    cells = [[label, size, *(n for n, _ in cells)] for label, size, cells in rows]
    return "retention", ["cohort", "people", *later], cells


def _grid(form) -> dict:
    question = form.question()
    found = retention(form.period(), **question)
    shares = found.shares()
    labels = [day.isoformat() for day in found.cohorts]
    chart = {
        "data": [
            {
                "type": "heatmap",
                "z": shares,
                "x": [str(k) for k in range(len(labels))],
                "y": labels,
                # Each cell shows both: the share of its cohort, and the people behind it
                # (nothing where the period is not over yet).
                "text": [
                    [
                        "" if share is None else f"{share}%<br>{n}"
                        for n, share in zip(row, shares_row, strict=True)
                    ]
                    for row, shares_row in zip(found.returned, shares, strict=True)
                ],
                "texttemplate": "%{text}",
                "customdata": found.returned,
                "hovertemplate": "cohort %{y}, %{x} later: %{z}% (%{customdata} people)"
                "<extra></extra>",
                "colorscale": "Blues",
                "reversescale": True,  # plotly's Blues runs dark to light: more is darker
                "zmin": 0,
            }
        ],
        "layout": {
            "margin": {"t": 24, "r": 16, "b": 48, "l": 96},
            "yaxis": {"autorange": "reversed", "type": "category"},
            "xaxis": {
                "title": {"text": f"{form.period().granularity}s later"},
                "type": "category",
            },
        },
    }
    rows = [
        (label, size, list(zip(counts, share, strict=True)))
        for label, size, counts, share in zip(
            labels, found.sizes, found.returned, shares, strict=True
        )
    ]
    return {
        "retention": found,
        "question": question,
        "period": form.period(),
        "chart": chart,
        "rows": rows,
        "empty": not any(found.sizes),
    }
