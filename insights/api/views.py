"""The reports' numbers as JSON: the same selectors as the pages, each answer stating
``as_of``, the instant its data is current to."""

from contextlib import contextmanager
from functools import partial

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp_site.counting import TimeLimitExceeded
from cdp_site.permissions import Cap
from insights import people as listing
from insights.journey import breakdown, people, selectors
from insights.paths.forms import PathsForm
from insights.paths.selectors import paths
from insights.periods import GRANULARITIES
from insights.retention.forms import RetentionForm
from insights.retention.selectors import retention

PERIOD_PARAMETERS = [
    OpenApiParameter(
        "start", str, description="first local day (YYYY-MM-DD); default: 90 days ago"
    ),
    OpenApiParameter("end", str, description="last local day, inclusive; default: today"),
    OpenApiParameter("granularity", str, enum=list(GRANULARITIES), description="default: week"),
]
BREAKDOWN_PARAMETERS = [
    OpenApiParameter(
        "by",
        str,
        enum=["country", "trait", "segment", "source", "party", "first_touch"],
        description="breakdown (source, party: of the event that caused the move)",
    ),
    OpenApiParameter("trait", str, description="with by=trait: the trait's key"),
    OpenApiParameter("segment", int, description="with by=segment: the segment's id"),
    OpenApiParameter(
        "touch", str, enum=["source", "medium", "campaign"], description="with by=first_touch"
    ),
]
TOO_SLOW = {"end": ["This period takes too long to count: choose a shorter one."]}


@contextmanager
def answered_in_time():
    """A query past its time limit is a 400 saying to ask for less, like a bad parameter."""
    try:
        yield
    except TimeLimitExceeded:
        raise serializers.ValidationError(TOO_SLOW) from None


def valid_form(form):
    if not form.is_valid():
        raise serializers.ValidationError(
            {field: [str(e) for e in errors] for field, errors in form.errors.items()}
        )
    return form


def counted(form, count):
    """A valid report form's period and question, and what ``count(period, **question)``
    found within its time limit (past it, the 400 of ``answered_in_time``)."""
    period, question = form.period(), form.question()
    with answered_in_time():
        found = count(period, **question)
    return period, question, found


def period_head(found, period, *, granularity: bool = True) -> dict:
    """The keys a period report's answer starts with: when its data is current to, and
    the period it counted (granularity left out by the reports that have none)."""
    head = {"as_of": found.as_of, "start": period.first_day, "end": period.last_day}
    if granularity:
        head["granularity"] = period.granularity
    return head | {"time_zone": str(period.zone)}


def people_answer(question, list_them, *, as_of=timezone.now) -> Response:
    """The people behind one number of a report: how many, and the first profile ids
    (``list_them(question)`` gives both); ``as_of`` taken before they are counted."""
    stamp = as_of()
    with answered_in_time():
        total, ids = list_them(question)
    return Response(
        {"as_of": stamp, "describe": question.describe(), "count": total, "profiles": ids}
    )


class JourneyView(APIView):
    """People per stage at the end of each bucket, the flows between the stage at the
    period's start and at its end ("" is new), moves into each stage per bucket, the
    share moving on from each funnel stage per bucket, and time spent in each stage by
    those who left it in the period (median and 75th percentile, seconds); with ``by``,
    the moves into each stage per country, trait value or segment membership."""

    required_capability = Cap.VIEW_DASHBOARDS

    @extend_schema(parameters=PERIOD_PARAMETERS + BREAKDOWN_PARAMETERS, responses={200: dict})
    def get(self, request):
        form = valid_form(breakdown.JourneyForm(request.query_params))
        period, dimension = form.period(), form.dimension()
        with answered_in_time():
            found = selectors.journey(period)
            by = breakdown.breakdown(period, dimension) if dimension else None
        return Response(
            {
                **period_head(found, period),
                "buckets": found.buckets,
                "people": found.people,
                "entered": found.entered,
                "conversion": found.conversion,
                "flows": [{"from": a, "to": b, "people": n} for a, b, n in found.flows],
                "time_in_stage": found.time_in_stage,
                "breakdown": by
                and {"by": dimension.label(), "groups": by.groups, "moves": by.moves},
            }
        )


PEOPLE_PARAMETERS = [
    OpenApiParameter("kind", str, enum=["in", "flow", "entered"], required=True),
    OpenApiParameter("stage", str, description='the stage (for a flow, the one left; "" new)'),
    OpenApiParameter("to_stage", str, description="for a flow: the stage moved into"),
    OpenApiParameter("bucket", str, description="for in / entered: the bucket's first day"),
    OpenApiParameter("limit", int, description=listing.LIMIT_HELP),
]


class JourneyPeopleView(APIView):
    """The people behind one number of the journey view: how many, and the first
    ``limit`` profile ids (by id). Needs the permission to view profiles: a viewer reads
    the numbers, not the people."""

    required_capability = Cap.VIEW_PROFILES

    @extend_schema(parameters=PERIOD_PARAMETERS + PEOPLE_PARAMETERS, responses={200: dict})
    def get(self, request):
        question = valid_form(people.PeopleForm(request.query_params)).question()
        limit = listing.api_limit(request.query_params)
        return people_answer(question, partial(people.listed, limit=limit))


RETENTION_PARAMETERS = [
    OpenApiParameter("cohort_by", str, enum=["first_seen", "first_order"]),
    OpenApiParameter(
        "cohort_event", str, description="with cohort_by=first_order: the order event's name"
    ),
    OpenApiParameter("returning_event", str, required=True),
]


class RetentionView(APIView):
    """The cohort retention grid: each cohort's size, how many of it did the returning
    event in each later period (``returned``; ``null``: that period is not over yet) and
    the same as a percentage of the cohort (``shares``); cohorts by first seen or by
    first order (the first time they did ``cohort_event``), in the account's time zone."""

    required_capability = Cap.VIEW_DASHBOARDS

    @extend_schema(parameters=PERIOD_PARAMETERS + RETENTION_PARAMETERS, responses={200: dict})
    def get(self, request):
        period, question, found = counted(
            valid_form(RetentionForm(request.query_params)), retention
        )
        return Response(
            {
                "as_of": found.as_of,
                "time_zone": str(period.zone),
                "granularity": period.granularity,
                **question,
                "cohorts": found.cohorts,
                "sizes": found.sizes,
                "returned": found.returned,
                "shares": found.shares(),
            }
        )


PATHS_PARAMETERS = [
    OpenApiParameter("event", str, required=True),
    OpenApiParameter("direction", str, enum=["next", "previous"], description="default: next"),
    OpenApiParameter("steps", int, description="1 to 5 (3)"),
    OpenApiParameter(
        "window",
        str,
        enum=["hours", "session"],
        description="hours (default): within ``hours`` of the event; session: in the same "
        "session (steps with no pause of 30 minutes or more between them)",
    ),
    OpenApiParameter("hours", int, description="with window=hours: 1 to 168 hours (24)"),
    OpenApiParameter("top", int, description="events kept per step, 2 to 15 (8)"),
]


class PathsView(APIView):
    """What people did after (or before) an event: per step, how many of the starts read
    had each event there ("(end)": nothing more in the window; "(other)": the rarer ones),
    and the links between consecutive steps."""

    required_capability = Cap.VIEW_DASHBOARDS

    @extend_schema(parameters=PERIOD_PARAMETERS + PATHS_PARAMETERS, responses={200: dict})
    def get(self, request):
        period, question, found = counted(valid_form(PathsForm(request.query_params)), paths)
        links = [
            {"step": step + 1, "from": before, "to": after, "count": n}
            for (step, before, after), n in sorted(found.links.items())
        ]
        return Response(
            {
                "as_of": found.as_of,
                "time_zone": str(period.zone),
                "window": "session" if question["session"] else "hours",
                "starts": found.starts,
                "sampled": found.sampled,
                "steps": [dict(counts) for counts in found.steps],
                "links": links,
            }
        )
