"""/insights/lifecycle/: new, returning, resurrecting and dormant people per bucket, and
the people behind each number (/insights/lifecycle/people/, saved as a static segment in
one click) for those who may view profiles."""

from urllib.parse import urlencode

from django.urls import reverse

from cdp_site.access import requires
from cdp_site.permissions import Cap, capabilities_of
from insights import people
from insights.periods import GRANULARITIES
from insights.reports import report_page

from . import charts
from .forms import LifecycleForm
from .people import LifecyclePeopleForm
from .selectors import KINDS, TIME_LIMIT_MS, lifecycle

TEMPLATE = "insights/lifecycle.html"
PEOPLE_TEMPLATE = "insights/lifecycle_people.html"
HEADER = ["bucket", "new", "returning", "resurrecting", "dormant", "active"]
REPORT = people.Report(
    "the lifecycle bars",
    TIME_LIMIT_MS,
    too_slow="These people take too long to list: choose a shorter period, or an event.",
)


@requires(Cap.VIEW_DASHBOARDS)
def lifecycle_view(request):
    can_list = Cap.VIEW_PROFILES in capabilities_of(request.user)
    return report_page(
        request,
        form=LifecycleForm(request.GET),
        template=TEMPLATE,
        partial="lifecycle",
        compute=lambda form: _lifecycle(form, can_list=can_list),
        table=lambda context: ("lifecycle", HEADER, context["rows"]),
        granularities=GRANULARITIES,
        labels=charts.LABELS,
    )


def _lifecycle(form, *, can_list: bool) -> dict:
    question = form.question()
    found = lifecycle(form.period(), **question)
    rows = found.rows()
    return {
        "found": found,
        "question": question,
        "period": form.period(),
        "rows": rows,
        "cells": _cells(form, rows) if can_list else [(row, None) for row in rows],
        "chart": charts.bars(found),
    }


def _cells(form, rows: list[tuple]) -> list[tuple]:
    """Each row with, per kind, its number and the address of its people (none for 0:
    nobody to list)."""
    listing = f"{reverse('insights:lifecycle-people')}?{_query(form)}"
    out = []
    for day, *numbers, active in rows:
        links = [
            (n, f"{listing}&{urlencode({'kind': kind, 'bucket': day})}" if n else "")
            for kind, n in zip(KINDS, numbers, strict=True)
        ]
        out.append(((day, *numbers, active), links))
    return out


# The people behind one number of the lifecycle bars; POST saves them as a static
# segment ("went dormant in the week of 9 November").
lifecycle_people = people.view(
    LifecyclePeopleForm,
    template=PEOPLE_TEMPLATE,
    report=REPORT,
    context_of=lambda form: {"back": reverse("insights:lifecycle") + "?" + _query(form)},
)


def _query(form) -> str:
    data = form.cleaned_data
    keys = ("start", "end", "granularity", "event")
    return urlencode({k: data.get(k) or "" for k in keys})
