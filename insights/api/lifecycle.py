"""/api/v1/insights/lifecycle/: the lifecycle bars' numbers; /api/v1/insights/lifecycle/people/:
the people behind one of them, for those who may view profiles."""

from functools import partial

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp_site.permissions import Cap
from insights import people
from insights.lifecycle.forms import LifecycleForm
from insights.lifecycle.people import LifecyclePeopleForm
from insights.lifecycle.selectors import KINDS, TIME_LIMIT_MS, lifecycle

from .views import PERIOD_PARAMETERS, counted, people_answer, period_head, valid_form

LIFECYCLE_PARAMETERS = [
    OpenApiParameter("event", str, description="active means doing this event; default: any"),
]


class LifecycleView(APIView):
    """Per bucket (``buckets``: each one's first local day, in ``time_zone``, the
    account's), how many active people were new (first time ever), returning (active in
    the bucket before too), resurrecting (back after a gap), and how many went dormant
    (active in the bucket before, not in this one; a positive count). Buckets are whole
    days, weeks (from Monday) or months."""

    required_capability = Cap.VIEW_DASHBOARDS

    @extend_schema(parameters=PERIOD_PARAMETERS + LIFECYCLE_PARAMETERS, responses={200: dict})
    def get(self, request):
        form = valid_form(LifecycleForm(request.query_params))
        period, question, found = counted(form, lifecycle)
        return Response(
            {
                **period_head(found, period),
                "event": question["event"],
                "buckets": found.buckets,
                **{kind: found.counts[kind] for kind in KINDS},
            }
        )


PEOPLE_PARAMETERS = [
    OpenApiParameter("kind", str, enum=list(KINDS), required=True),
    OpenApiParameter("bucket", str, required=True, description="the bucket's first day"),
    OpenApiParameter("limit", int, description=people.LIMIT_HELP),
]


class LifecyclePeopleView(APIView):
    """The people behind one number of the lifecycle bars (``kind`` in the bucket starting
    on ``bucket``, with the same period and event): how many, and the first ``limit``
    profile ids (by id). Needs the permission to view profiles: a viewer reads the
    numbers only."""

    required_capability = Cap.VIEW_PROFILES

    @extend_schema(
        parameters=PERIOD_PARAMETERS + LIFECYCLE_PARAMETERS + PEOPLE_PARAMETERS,
        responses={200: dict},
    )
    def get(self, request):
        question = valid_form(LifecyclePeopleForm(request.query_params)).people_question()
        limit = people.api_limit(request.query_params)
        list_them = partial(people.listed, limit=limit, time_limit_ms=TIME_LIMIT_MS)
        return people_answer(question, list_them)
