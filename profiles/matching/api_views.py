"""REST API of probabilistic matching, mounted at /api/v1/matching/ by profiles/api/urls.py.
The settings, models and passes need MANAGE_IDENTITY_RULES (admins); the review queue
MANAGE_PROFILES (account managers and admins). A MatchingError is a 400 at its field;
a pass while one runs is a 409."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp_site.api.errors import Conflict
from cdp_site.api.pagination import CreatedCursorPagination
from cdp_site.permissions import Cap

from ..models import MatchModel, MatchRun, MatchSettings
from . import jobs, selectors, services
from .serializers import (
    CandidateSerializer,
    ExplainQuerySerializer,
    ExplanationSerializer,
    MatchModelDetailSerializer,
    MatchModelSerializer,
    MatchRunSerializer,
    SettingsSerializer,
    StartRunSerializer,
    TrainingSerializer,
)

ADMIN = Cap.MANAGE_IDENTITY_RULES
REVIEW = Cap.MANAGE_PROFILES


def refused(error: services.MatchingError) -> exceptions.ValidationError:
    return exceptions.ValidationError({error.field: [error.reason]})


class SettingsView(APIView):
    """The matching settings; PATCH changes any of them (each checked at its field;
    a change to the mapping, comparisons or blocking makes the model stale)."""

    required_capability = ADMIN

    def _out(self, current: MatchSettings) -> dict:
        return SettingsSerializer(current, context={"stale": jobs.model_is_stale()}).data

    @extend_schema(responses=SettingsSerializer)
    def get(self, request):
        return Response(self._out(MatchSettings.load()))

    @extend_schema(request=SettingsSerializer, responses=SettingsSerializer)
    def patch(self, request):
        given = SettingsSerializer(MatchSettings.load(), data=request.data, partial=True)
        given.is_valid(raise_exception=True)
        try:
            current = services.update_settings(actor=request.user, **given.validated_data)
        except services.MatchingError as error:
            raise refused(error) from error
        return Response(self._out(current))


class ModelListView(generics.ListAPIView):
    """Trained models, newest first; POST trains one in the background (202 with the
    training's state; follow it at models/training)."""

    required_capability = ADMIN
    serializer_class = MatchModelSerializer
    queryset = MatchModel.objects.select_related("trained_by")

    @extend_schema(request=None, responses={202: TrainingSerializer})
    def post(self, request):
        state = jobs.queue_training(actor=request.user)
        follow = reverse("matching-api:training")
        return Response(
            TrainingSerializer(state).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": follow},
        )


class TrainingView(APIView):
    """The last training asked for: queued, running, done (with the model's id) or
    failed (with the field and reason)."""

    required_capability = ADMIN

    @extend_schema(responses=TrainingSerializer)
    def get(self, request):
        return Response(TrainingSerializer(jobs.training_status()).data)


class ModelDetailView(generics.RetrieveAPIView):
    """One model: its definition and the match weight of each comparison level."""

    required_capability = ADMIN
    serializer_class = MatchModelDetailSerializer
    queryset = MatchModel.objects.select_related("trained_by")


class RunListView(generics.ListAPIView):
    """Passes, newest first; POST starts one ({"kind": "full" | "incremental" |
    "dry_run"}): 202, then read the run until its status is done or failed; 409 while
    one runs."""

    required_capability = ADMIN
    serializer_class = MatchRunSerializer
    queryset = MatchRun.objects.select_related("started_by")

    @extend_schema(
        request=StartRunSerializer,
        responses={
            202: MatchRunSerializer,
            409: OpenApiResponse(description="A pass is running."),
        },
    )
    def post(self, request):
        given = StartRunSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            run = jobs.start_pass(kind=given.validated_data["kind"], actor=request.user)
        except services.MatchingError as error:
            if error.field == "run":
                raise Conflict(detail=error.reason) from error
            raise refused(error) from error
        follow = reverse("matching-api:run", args=[run.pk])
        data = MatchRunSerializer(run).data
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": follow})


class RunDetailView(generics.RetrieveAPIView):
    """One pass: its status, counts, what held pairs back, capped blocking values and (a
    dry run's) samples by profile id."""

    required_capability = ADMIN
    serializer_class = MatchRunSerializer
    queryset = MatchRun.objects.select_related("started_by")


class QueuePagination(CreatedCursorPagination):
    ordering = ("-probability", "id")


class ReviewQueueView(generics.ListAPIView):
    """Pairs waiting for review, strongest first, each with why it was held and why it
    scored what it did."""

    required_capability = REVIEW
    serializer_class = CandidateSerializer
    pagination_class = QueuePagination

    def get_queryset(self):
        return selectors.review_queue().select_related("model")


class _Decision(APIView):
    required_capability = REVIEW
    decision = None

    @extend_schema(request=None, responses=CandidateSerializer)
    def post(self, request, pk: int):
        try:
            decided = self.decision(candidate_id=pk, actor=request.user)
        except services.MatchingError as error:
            services.set_aside_if_gone(candidate_id=pk)  # the queue moves on past it
            raise refused(error) from error
        return Response(CandidateSerializer(decided).data)


class AcceptView(_Decision):
    """The two are one person: merged into the older profile (undo with the merge's
    undo); 400 when one of them is gone or the pair was decided already."""

    decision = staticmethod(services.accept)


class RejectView(_Decision):
    """The two are two people: never suggested or merged by the matcher again."""

    decision = staticmethod(services.reject)


class ExplainView(APIView):
    """Why two profiles would score what they do with the latest model (names without
    their frequency adjustment)."""

    required_capability = ADMIN

    @extend_schema(
        parameters=[
            OpenApiParameter("left", int, required=True),
            OpenApiParameter("right", int, required=True),
        ],
        responses=ExplanationSerializer,
    )
    def get(self, request):
        given = ExplainQuerySerializer(data=request.query_params)
        given.is_valid(raise_exception=True)
        try:
            explained = services.explain_profiles(**given.validated_data)
        except services.MatchingError as error:
            raise refused(error) from error
        return Response(ExplanationSerializer(explained).data)
