"""The RFM grid as JSON (/api/v1/insights/rfm/), and the people behind a cell or segment
(/api/v1/insights/rfm/people/, for those who may view profiles)."""

from functools import partial

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp_site.permissions import Cap
from insights import people
from insights.api.views import answered_in_time, people_answer, valid_form
from profiles import services as profile_services
from profiles.computed import scores

from . import selectors
from .forms import RfmPeopleForm

CELLS = inline_serializer(
    "RfmCell",
    many=True,
    fields={
        "recency": serializers.IntegerField(),
        "frequency": serializers.IntegerField(),
        "segment": serializers.CharField(),
        "customers": serializers.IntegerField(),
        "revenue": serializers.FloatField(),
    },
)
GRID = inline_serializer(
    "RfmGrid",
    {
        "as_of": serializers.DateTimeField(
            allow_null=True,
            help_text="when the scores were computed (every 15 minutes, or on demand); "
            "null: not known",
        ),
        "customers": serializers.IntegerField(help_text="customers with scores"),
        "revenue_trait": serializers.CharField(help_text="the computed trait summed as revenue"),
        "cells": CELLS,
        "segments": inline_serializer(
            "RfmSegment",
            {
                "segment": serializers.CharField(),
                "customers": serializers.IntegerField(),
                "revenue": serializers.FloatField(),
            },
            many=True,
        ),
    },
)


class RfmView(APIView):
    """Customers and their order revenue per recency x frequency score cell (scores 1-5,
    quintiles among the customers), and per RFM segment (the R x F map in
    profiles/computed/scores.py). ``as_of`` is when the scores were computed."""

    required_capability = Cap.VIEW_DASHBOARDS

    @extend_schema(responses={200: GRID})
    def get(self, request):
        with answered_in_time():
            found = selectors.grid()
        cells = [
            {
                "recency": r,
                "frequency": f,
                "segment": scores.SEGMENTS[(r, f)],
                "customers": found.customers[(r, f)],
                "revenue": round(found.revenue[(r, f)], 2),
            }
            for r in selectors.SCORES
            for f in selectors.SCORES
        ]
        return Response(
            {
                "as_of": found.as_of,
                "customers": found.total,
                "revenue_trait": found.monetary_key,
                "cells": cells,
                "segments": [
                    {"segment": name, "customers": n, "revenue": revenue}
                    for name, n, revenue in found.segments()
                ],
            }
        )


PEOPLE_PARAMETERS = [
    OpenApiParameter("r", int, description="recency score 1-5 (with f)"),
    OpenApiParameter("f", int, description="frequency score 1-5 (with r)"),
    OpenApiParameter("segment", str, enum=scores.SEGMENT_ORDER, description="instead of r, f"),
    OpenApiParameter("limit", int, description=people.LIMIT_HELP),
]


class RfmPeopleView(APIView):
    """The customers of one cell or one RFM segment: how many, and the first ``limit``
    profile ids (by id). Needs the permission to view profiles."""

    required_capability = Cap.VIEW_PROFILES

    @extend_schema(parameters=PEOPLE_PARAMETERS, responses={200: dict})
    def get(self, request):
        question = valid_form(RfmPeopleForm(request.query_params)).question()
        limit = people.api_limit(request.query_params)
        list_them = partial(selectors.listed, limit=limit)
        return people_answer(question, list_them, as_of=scores.computed_at)


class RfmRecomputeView(APIView):
    """Queues the scores pass that otherwise runs every 15 minutes; the grid's ``as_of`` moves on
    once it is done (202: queued, with the ``as_of`` of the scores now shown)."""

    required_capability = Cap.MANAGE_SEGMENTS

    @extend_schema(
        request=None,
        responses={
            202: inline_serializer(
                "RfmRecomputeQueued",
                {
                    "queued": serializers.BooleanField(),
                    "as_of": serializers.DateTimeField(
                        allow_null=True, help_text="of the scores now shown; null: none yet"
                    ),
                },
            )
        },
    )
    def post(self, request):
        profile_services.queue_score_recompute()
        return Response({"queued": True, "as_of": scores.computed_at()}, status=202)
