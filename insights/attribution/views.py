"""/insights/attribution/: revenue and orders per channel by first touch, last touch and
linear (a bar chart per currency and its table), and the people behind a channel's
orders (/insights/attribution/people/), who save as a static segment."""

from urllib.parse import urlencode

from django.urls import reverse

from cdp_site.access import requires
from cdp_site.permissions import Cap, capabilities_of
from insights import people
from insights.charts import MARGIN
from insights.reports import report_page

from . import selectors
from .forms import GROUPS, AttributionForm, AttributionPeopleForm

TEMPLATE = "insights/attribution.html"
PEOPLE_TEMPLATE = "insights/attribution_people.html"
MODEL_LABELS = {"first": "First touch", "last": "Last touch", "linear": "Linear"}


@requires(Cap.VIEW_DASHBOARDS)
def attribution_report(request):
    return report_page(
        request,
        form=AttributionForm(request.GET),  # no parameters: the last 90 days, Order Completed
        template=TEMPLATE,
        partial="report",
        compute=_report,
        table=_table,
        groups=GROUPS,
        can_list=Cap.VIEW_PROFILES in capabilities_of(request.user),
    )


def _money(value) -> float:
    return round(float(value), 2)


def rows_of(found: selectors.Attribution) -> list[tuple]:
    """(channel, currency, first orders, revenue, last orders, revenue, linear orders,
    revenue) for each channel and currency it has orders in."""
    out = []
    for channel in found.channels:
        for currency in found.currencies:
            cells = [channel.credit[m].get(currency) for m in selectors.MODELS]
            if not any(c and c[0] for c in cells):
                continue
            numbers = []
            for cell in cells:
                orders, revenue = cell or (0, 0)
                numbers += [round(float(orders), 2), _money(revenue)]
            out.append((channel, currency, *numbers))
    return out


def _chart(found: selectors.Attribution, currency: str) -> dict:
    names = [c.name for c in found.channels]
    return {
        "data": [
            {
                "type": "bar",
                "name": MODEL_LABELS[model],
                "x": names,
                "y": [_money(c.revenue(model, currency)) for c in found.channels],
                "hovertemplate": f"%{{x}}: %{{y}} {currency}<extra>{MODEL_LABELS[model]}</extra>",
            }
            for model in selectors.MODELS
        ],
        "layout": {
            "barmode": "group",
            "margin": {**MARGIN, "b": 96},
            "yaxis": {"title": {"text": f"Revenue ({currency})"}, "rangemode": "tozero"},
            "xaxis": {"type": "category"},
        },
    }


def _report(form) -> dict:
    period, question = form.period(), form.question()
    found = selectors.attribute(period, **question)
    return {
        "period": period,
        "attribution": found,
        "empty": not found.totals,
        "rows": rows_of(found),
        "charts": [
            (f"attribution-chart-{i}", c, _chart(found, c)) for i, c in enumerate(found.totals)
        ],
        "people_query": _query(form),
        "group_label": GROUPS[question["by"]],
    }


def _table(context) -> tuple:
    header = [
        context["group_label"],
        "currency",
        "first touch orders",
        "first touch revenue",
        "last touch orders",
        "last touch revenue",
        "linear orders",
        "linear revenue",
    ]
    rows = [[channel.name, *rest] for channel, *rest in context["rows"]]
    return "attribution", header, rows


def _query(form) -> str:
    data = form.cleaned_data
    keys = ("start", "end", "event", "lookback", "by")
    return urlencode({k: data[k] for k in keys})


REPORT = people.Report("the attribution report", selectors.TIME_LIMIT_MS)


# The people whose orders in the period one model credited to one channel; POST saves
# them as a static segment.
attribution_people = people.view(
    AttributionPeopleForm,
    template=PEOPLE_TEMPLATE,
    report=REPORT,
    context_of=lambda form: {"back": reverse("insights:attribution") + "?" + _query(form)},
)
