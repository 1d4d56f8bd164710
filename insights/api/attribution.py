"""The attribution report as JSON (GET /api/v1/insights/attribution/): the same selector
as the page; amounts per currency, never summed across currencies."""

from functools import partial

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp_site.permissions import Cap
from insights import people
from insights.attribution.forms import (
    GROUPS,
    MAX_LOOKBACK,
    AttributionForm,
    AttributionPeopleForm,
)
from insights.attribution.selectors import MODELS, TIME_LIMIT_MS, attribute

from .views import PERIOD_PARAMETERS, counted, people_answer, period_head, valid_form

ATTRIBUTION_PARAMETERS = [
    OpenApiParameter("event", str, description="the order event (Order Completed)"),
    OpenApiParameter(
        "lookback", int, description=f"days of touches before an order, 1 to {MAX_LOOKBACK} (30)"
    ),
    OpenApiParameter("by", str, enum=list(GROUPS), description="what a channel is (source)"),
]


def _number(value) -> float:
    return round(float(value), 2)


class AttributionView(APIView):
    """Orders of the period and their revenue (``revenue``, else ``total``) per channel,
    credited by first touch, last touch and linear over the buyer's touches (UTM
    campaigns, other sites' referrers) in the ``lookback`` days before each order;
    "(direct)" when there was none, "other" for the smaller channels. ``totals`` per
    currency (an order naming none is in the account's default currency; "XXX": not a
    currency code); ``channels[].credit[model][currency]`` = {orders, revenue}, orders
    fractional for linear. ``as_of``: the time the answer is current to."""

    required_capability = Cap.VIEW_DASHBOARDS

    @extend_schema(
        parameters=[p for p in PERIOD_PARAMETERS if p.name != "granularity"]
        + ATTRIBUTION_PARAMETERS,
        responses={200: dict},
    )
    def get(self, request):
        form = valid_form(AttributionForm(request.query_params))
        period, question, found = counted(form, attribute)
        return Response(
            {
                **period_head(found, period, granularity=False),
                **question,
                "totals": {
                    currency: {
                        "orders": t.orders,
                        "revenue": _number(t.revenue),
                        "orders_with_amount": t.with_amount,
                    }
                    for currency, t in found.totals.items()
                },
                "channels": [
                    {
                        "channel": channel.name,
                        "other": channel.other,
                        "credit": {
                            model: {
                                currency: {"orders": _number(o), "revenue": _number(r)}
                                for currency, (o, r) in channel.credit[model].items()
                            }
                            for model in MODELS
                        },
                    }
                    for channel in found.channels
                ],
            }
        )


PEOPLE_PARAMETERS = [
    OpenApiParameter("channel", str, required=True, description="a channel of the report"),
    OpenApiParameter("model", str, enum=list(MODELS), required=True),
    OpenApiParameter("limit", int, description=people.LIMIT_HELP),
]


class AttributionPeopleView(APIView):
    """The buyers behind one number of the report: whose orders in the period ``model``
    credited (in part, for linear) to ``channel``; how many, and the first ``limit``
    profile ids. Needs the permission to view profiles: a viewer reads the numbers only."""

    required_capability = Cap.VIEW_PROFILES

    @extend_schema(
        parameters=[p for p in PERIOD_PARAMETERS if p.name != "granularity"]
        + ATTRIBUTION_PARAMETERS
        + PEOPLE_PARAMETERS,
        responses={200: dict},
    )
    def get(self, request):
        form = valid_form(AttributionPeopleForm(request.query_params))
        limit = people.api_limit(request.query_params)
        question = form.people_question()
        list_them = partial(people.listed, limit=limit, time_limit_ms=TIME_LIMIT_MS)
        return people_answer(question, list_them)
