"""/api/v1/insights/lifecycle/: the lifecycle bars' numbers."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp_site.permissions import Cap
from insights.lifecycle.forms import LifecycleForm
from insights.lifecycle.selectors import KINDS, lifecycle

from .views import PERIOD_PARAMETERS, answered_in_time, valid_form

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
        period, question = form.period(), form.question()
        with answered_in_time():
            found = lifecycle(period, **question)
        return Response(
            {
                "as_of": found.as_of,
                "start": period.first_day,
                "end": period.last_day,
                "granularity": period.granularity,
                "time_zone": str(period.zone),
                "event": question["event"],
                "buckets": found.buckets,
                **{kind: found.counts[kind] for kind in KINDS},
            }
        )
