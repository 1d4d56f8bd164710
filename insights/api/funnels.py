"""Funnels through the API: an unsaved funnel's numbers (``funnel/``, its steps in the
query as on the page), and saved funnels (``funnels/``): viewers and account managers
read them and their numbers, marketers also create, change and delete them. Steps are
the segment grammar's event steps, ``{"name": E, "where": [PROP]}``; a problem answers
400 under its path (``steps[1].where[0].value``). Every answer of numbers states
``as_of``."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp_site.permissions import Cap
from insights.funnels import services
from insights.funnels.forms import FunnelForm, query_of_saved
from insights.funnels.selectors import (
    BREAKDOWNS,
    Breakdown,
    Step,
    funnel,
    problems,
    share,
    steps_of,
    unknown_events,
)
from insights.models import Funnel
from segments import grammar

from .views import PERIOD_PARAMETERS, answered_in_time, period_head, valid_form

FUNNELS = (Cap.VIEW_DASHBOARDS, Cap.MANAGE_SEGMENTS)
BREAKDOWN_PARAMETERS = [
    OpenApiParameter("by", str, enum=list(BREAKDOWNS), description="break down by"),
    OpenApiParameter("key", str, description="with by=property or by=trait: its name"),
]
STEP_PARAMETERS = [
    OpenApiParameter("steps[0].name", str, required=True, description="first step's event"),
    OpenApiParameter("steps[1].name", str, required=True, description="… up to steps[9]"),
    OpenApiParameter(
        "steps[0].where[0].property",
        str,
        description="a property filter of step 0 (… .op, .value, .value2; as the segment "
        "builder's fields); or the simple form event_1 … event_10 with property_k = value_k",
    ),
    OpenApiParameter("window", int, description="days from the first step, 1 to 90 (7)"),
    OpenApiParameter("order", str, enum=["ordered", "any"], description="default: ordered"),
]


class FunnelResultSerializer(serializers.Serializer):
    """The numbers of a funnel (for the schema)."""

    as_of = serializers.DateTimeField(help_text="the instant the numbers are current to")
    start, end = serializers.DateField(), serializers.DateField()
    granularity, time_zone = serializers.CharField(), serializers.CharField()
    steps = serializers.ListField(child=serializers.DictField(), help_text="as asked")
    people = serializers.ListField(child=serializers.IntegerField(), help_text="per step")
    conversion = serializers.ListField(
        child=serializers.FloatField(allow_null=True), help_text="share of the step before"
    )
    overall = serializers.FloatField(allow_null=True, help_text="last step / first step")
    median_seconds = serializers.ListField(child=serializers.FloatField(allow_null=True))
    over_time = serializers.ListField(
        child=serializers.DictField(), help_text="per bucket of entering: people per step"
    )
    breakdown = serializers.DictField(allow_null=True, help_text="groups: people per step")
    unknown_events = serializers.ListField(
        child=serializers.CharField(), help_text="steps' events never recorded (count 0)"
    )


def answer(form) -> dict:
    """A valid FunnelForm's numbers as the API answers them."""
    period, question, by = form.period(), form.question(), form.breakdown()
    with answered_in_time():
        found = funnel(period, **question, by=by)
        unknown = unknown_events(question["steps"])
    return {
        **period_head(found, period),
        "steps": [step.as_json() for step in question["steps"]],
        "people": found.counts,
        "conversion": found.conversion(),
        "overall": found.overall(),
        "median_seconds": found.median_s,
        "over_time": [
            {"bucket": day, "people": counts, "conversion": share(counts)}
            for day, counts in found.over_time.items()
        ],
        "breakdown": by
        and {
            "by": by.label(),
            "groups": [{"group": g, "people": n} for g, n in found.groups.items()],
        },
        "unknown_events": unknown,
    }


class FunnelView(APIView):
    """An unsaved funnel's people per step, each step's share of the one before, the
    median seconds each step took (from the step before, or from the first in any order),
    conversion per bucket of entering, and with ``by`` the people per step of the largest
    groups (the rest as "(other)")."""

    required_capability = Cap.VIEW_DASHBOARDS

    @extend_schema(
        parameters=PERIOD_PARAMETERS + STEP_PARAMETERS + BREAKDOWN_PARAMETERS,
        responses={200: FunnelResultSerializer},
    )
    def get(self, request):
        return Response(answer(valid_form(FunnelForm(request.query_params))))


class SavedFunnelSerializer(serializers.ModelSerializer):
    created_by = serializers.EmailField(source="created_by.email", read_only=True, allow_null=True)

    class Meta:
        model = Funnel
        fields = [
            "id",
            "name",
            "steps",
            "window_days",
            "ordered",
            "breakdown",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class FunnelInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    steps = serializers.JSONField(help_text='[{"name": E, "where": [PROP]}], 2 to 10')
    window_days = serializers.IntegerField(min_value=1, max_value=90, required=False, default=7)
    ordered = serializers.BooleanField(required=False, default=True)
    breakdown = serializers.JSONField(
        required=False,
        allow_null=True,
        default=None,
        help_text='how the funnel opens broken down: {"by": "property" | "trait" | "source", '
        '"key": the property or trait}, or null',
    )

    def validate_name(self, value):
        checked = grammar.Validator()
        if value and not checked.text("name", value, "a name"):
            raise serializers.ValidationError(checked.errors[0]["message"])
        return value

    def validate_breakdown(self, value):
        if value is None:
            return None
        if not isinstance(value, dict) or value.get("by") not in BREAKDOWNS:
            raise serializers.ValidationError(f"by: one of {', '.join(BREAKDOWNS)}.")
        key = str(value.get("key") or "").strip()
        if value["by"] != "source":
            checked = grammar.Validator()
            if not checked.text("key", key, "the property or trait to break down by"):
                raise serializers.ValidationError(f"key: {checked.errors[0]['message']}")
        return Breakdown(value["by"], key if value["by"] != "source" else "")

    def validate(self, data):
        if "steps" in data and (found := problems(data["steps"])):
            fields = {}
            for problem in found:
                fields.setdefault(problem["field"], []).append(problem["message"])
            raise serializers.ValidationError(fields)
        return data

    def values(self) -> dict:
        data = dict(self.validated_data)
        if "steps" in data:
            data["steps"] = [Step.of(step) for step in data["steps"]]
        return data


class SavedFunnelsView(APIView):
    """Saved funnels by name. POST saves one (marketers)."""

    required_capability = FUNNELS

    @extend_schema(responses=SavedFunnelSerializer(many=True))
    def get(self, request):
        return Response(SavedFunnelSerializer(Funnel.objects.all(), many=True).data)

    @extend_schema(request=FunnelInputSerializer, responses={201: SavedFunnelSerializer})
    def post(self, request):
        data = FunnelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        saved = services.save_funnel(user=request.user, **data.values())
        return Response(SavedFunnelSerializer(saved).data, status=status.HTTP_201_CREATED)


class SavedFunnelView(APIView):
    """One saved funnel. PUT replaces it, PATCH changes what is given, DELETE removes it
    (marketers)."""

    required_capability = FUNNELS

    @extend_schema(responses=SavedFunnelSerializer)
    def get(self, request, pk: int):
        return Response(SavedFunnelSerializer(get_object_or_404(Funnel, pk=pk)).data)

    def _update(self, request, pk: int, *, partial: bool):
        saved = get_object_or_404(Funnel, pk=pk)
        data = FunnelInputSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        values = {
            "name": saved.name,
            "steps": steps_of(saved),
            "window_days": saved.window_days,
            "ordered": saved.ordered,
            "breakdown": Breakdown.of(saved.breakdown),
        } | data.values()
        saved = services.update_funnel(funnel=saved, **values)
        return Response(SavedFunnelSerializer(saved).data)

    @extend_schema(request=FunnelInputSerializer, responses=SavedFunnelSerializer)
    def put(self, request, pk: int):
        return self._update(request, pk, partial=False)

    @extend_schema(request=FunnelInputSerializer, responses=SavedFunnelSerializer)
    def patch(self, request, pk: int):
        return self._update(request, pk, partial=True)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, pk: int):
        services.delete_funnel(funnel=get_object_or_404(Funnel, pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SavedFunnelResultView(APIView):
    """A saved funnel's numbers for a period (as the unsaved funnel's)."""

    required_capability = Cap.VIEW_DASHBOARDS

    @extend_schema(
        parameters=PERIOD_PARAMETERS + BREAKDOWN_PARAMETERS,
        responses={200: FunnelResultSerializer},
    )
    def get(self, request, pk: int):
        saved = get_object_or_404(Funnel, pk=pk)
        # The saved breakdown unless the request asks for another (by= empty: none).
        asked = query_of_saved(saved)
        period = {k: v for k, v in request.query_params.items() if k in PERIOD_KEYS}
        return Response({"funnel": saved.pk, **answer(valid_form(FunnelForm(asked | period)))})


PERIOD_KEYS = {"start", "end", "granularity", "by", "key"}
