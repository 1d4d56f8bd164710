"""/insights/retention/: the cohort retention grid (a heatmap and its table)."""

from django.template.response import TemplateResponse

from cdp_site.access import requires
from cdp_site.counting import TimeLimitExceeded
from cdp_site.permissions import Cap
from insights.periods import GRANULARITIES

from .forms import RetentionForm
from .selectors import retention

TEMPLATE = "insights/retention.html"


@requires(Cap.VIEW_DASHBOARDS)
def retention_grid(request):
    form = RetentionForm(request.GET or {"returning_event": "Order Completed"})
    context = {"form": form, "granularities": GRANULARITIES}
    if form.is_valid():
        context.update(_grid(form))
    template = f"{TEMPLATE}#grid" if request.htmx else TEMPLATE
    return TemplateResponse(request, template, context, status=400 if form.errors else 200)


def _grid(form) -> dict:
    data = form.cleaned_data
    try:
        found = retention(
            form.period(),
            cohort_by=data["cohort_by"],
            cohort_event=data.get("cohort_event") or "",
            returning_event=data["returning_event"],
        )
    except TimeLimitExceeded:
        return {"too_slow": True}
    shares = [
        [None if n is None or not size else round(100 * n / size, 1) for n in row]
        for size, row in zip(found.sizes, found.returned, strict=True)
    ]
    labels = [day.isoformat() for day in found.cohorts]
    chart = {
        "data": [
            {
                "type": "heatmap",
                "z": shares,
                "x": [str(k) for k in range(len(labels))],
                "y": labels,
                "text": found.returned,
                "hovertemplate": "cohort %{y}, %{x} later: %{z}% (%{text} people)<extra></extra>",
                "colorscale": "Blues",
                "zmin": 0,
            }
        ],
        "layout": {
            "margin": {"t": 24, "r": 16, "b": 48, "l": 96},
            "yaxis": {"autorange": "reversed", "type": "category"},
            "xaxis": {"title": {"text": f"{form.period().granularity}s later"}},
        },
    }
    rows = [
        (label, size, list(zip(counts, share, strict=True)))
        for label, size, counts, share in zip(
            labels, found.sizes, found.returned, shares, strict=True
        )
    ]
    return {"retention": found, "chart": chart, "rows": rows, "empty": not any(found.sizes)}
