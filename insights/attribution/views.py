"""/insights/attribution/: revenue and orders per channel by first touch, last touch and
linear (a bar chart per currency and its table), and the people behind a channel's
orders (/insights/attribution/people/), who save as a static segment."""

from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from cdp_site.access import requires
from cdp_site.counting import TimeLimitExceeded, time_limit
from cdp_site.permissions import Cap, capabilities_of
from insights.charts import MARGIN
from insights.reports import report_page
from profiles.models import Profile
from segments import static_lists

from . import selectors
from .forms import GROUPS, AttributionForm, AttributionPeopleForm, describe

TEMPLATE = "insights/attribution.html"
PEOPLE_TEMPLATE = "insights/attribution_people.html"
SHOWN = 100
SAVED_AT_MOST = 1_000_000  # a static segment of more is a rule's job
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


@requires(Cap.VIEW_PROFILES, write=Cap.MANAGE_SEGMENTS)
def attribution_people(request):
    """The people whose orders in the period one model credited to one channel; POST
    saves them as a static segment."""
    form = AttributionPeopleForm(request.POST or request.GET)
    if not form.is_valid():
        return TemplateResponse(request, PEOPLE_TEMPLATE, {"form": form}, status=400)
    period, question = form.period(), {**form.question(), **form.who()}
    title = describe(form)
    if request.method == "POST":
        return _save(request, period, question, title)
    try:
        total, ids = selectors.listed(period, limit=SHOWN, **question)
    except TimeLimitExceeded:
        return TemplateResponse(request, PEOPLE_TEMPLATE, {"form": form, "too_slow": True})
    context = {
        "form": form,
        "title": title,
        "profiles": Profile.objects.filter(pk__in=ids).order_by("pk"),
        "total": total,
        "shown": len(ids),
        "can_save": Cap.MANAGE_SEGMENTS in capabilities_of(request.user),
        "back": reverse("insights:attribution") + "?" + _query(form),
    }
    return TemplateResponse(request, PEOPLE_TEMPLATE, context)


def _save(request, period, question, title):
    name = (request.POST.get("name") or title).strip()[:120]
    try:
        with time_limit(selectors.TIME_LIMIT_MS):
            ids = selectors.profile_ids(period, limit=SAVED_AT_MOST, **question)
        segment = static_lists.create_static_segment_of(
            name=name,
            profile_ids=ids,
            reason=title,
            description=f"Saved from the attribution report: {title}.",
            created_by=request.user,
        )
    except TimeLimitExceeded:
        messages.error(request, "These people take too long to list: choose a shorter period.")
        return redirect(request.get_full_path())
    messages.success(request, f"Saved {segment.member_count:,} people as “{segment.name}”.")
    return redirect("segments:detail", pk=segment.pk)
