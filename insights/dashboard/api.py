"""/api/v1/insights/dashboard/: the dashboard's numbers as JSON, the same selectors as the
home page. Aggregates only, so viewers may read it."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp_site.permissions import Cap

from . import selectors

DESCRIPTION = (
    "One object per tile under `tiles` (profiles, events, new_customers, revenue, stages, "
    "segments, campaigns, health), each with its own `as_of`; a tile that could not be read "
    'is `{"error": "unreadable"}` or `{"error": "too slow"}` and costs no other tile. '
    "Counts are `{value, how}`: how is exact, at_least (counting stopped there), estimate "
    "(table statistics) or unknown. Days are local days of `time_zone`. Revenue sums the "
    "`revenue` (else `total`) property of order events per stated currency, never converted."
)


class DashboardView(APIView):
    """The home page's tiles: profiles (identified / anonymous), events today and per
    source over 7 days, new customers and revenue over 30 days, people per stage, the
    segments changing most, the running campaigns' sends and conversions, and the data
    health checks. ``as_of`` is the oldest tile's: every figure is current to it."""

    required_capability = Cap.VIEW_DASHBOARDS

    @extend_schema(
        description=DESCRIPTION,
        responses={
            200: OpenApiResponse(
                inline_serializer(
                    "Dashboard",
                    {
                        "as_of": serializers.DateTimeField(),
                        "time_zone": serializers.CharField(),
                        "tiles": serializers.DictField(child=serializers.DictField()),
                    },
                ),
                description=DESCRIPTION,
            )
        },
    )
    def get(self, request):
        return Response(selectors.dashboard())
