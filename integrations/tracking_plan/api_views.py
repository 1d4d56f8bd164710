"""REST API for tracking plans: list, create, read, change and delete them (events,
traits and the sources following them in one object), start one from a source's events,
and read the violations counted for a plan's sources. The same services as the pages;
reads need VIEW_INTEGRATIONS, writes MANAGE_INTEGRATIONS, as for sources."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp_site.permissions import Cap

from . import selectors, services
from .inference import infer_plan
from .models import TrackingPlan, Violation
from .serializers import InferSerializer, TrackingPlanSerializer, ViolationSerializer

INTEGRATIONS = (Cap.VIEW_INTEGRATIONS, Cap.MANAGE_INTEGRATIONS)


def _plans():
    return TrackingPlan.objects.prefetch_related("events", "links")


class PlanListView(generics.ListCreateAPIView):
    """Tracking plans; POST creates one with its events, traits and sources."""

    required_capability = INTEGRATIONS
    serializer_class = TrackingPlanSerializer

    def get_queryset(self):
        return _plans()


class PlanDetailView(generics.RetrieveUpdateDestroyAPIView):
    """One plan. ``events`` and ``sources``, when sent, replace the plan's own; an invalid
    JSON Schema is refused at ``events[i].schema``. DELETE leaves its sources following
    no plan."""

    required_capability = INTEGRATIONS
    serializer_class = TrackingPlanSerializer

    def get_queryset(self):
        return _plans()

    def perform_destroy(self, instance):
        services.delete_plan(plan=instance)


class PlanInferView(APIView):
    """A new plan from the source's newest 10,000 events (properties and traits typed
    from the values seen); the source follows it in "flag" mode."""

    required_capability = INTEGRATIONS

    @extend_schema(request=InferSerializer, responses={201: TrackingPlanSerializer})
    def post(self, request):
        asked = InferSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        plan = infer_plan(**asked.validated_data)
        body = TrackingPlanSerializer(_plans().get(pk=plan.pk)).data
        return Response(body, status=status.HTTP_201_CREATED)


class PlanViolationListView(generics.ListAPIView):
    """Violations counted for the plan's sources, per source, message type, event and
    kind, with the newest examples (message id, JSON pointer, what was wrong)."""

    required_capability = INTEGRATIONS
    serializer_class = ViolationSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema, generated without a plan
            return Violation.objects.none()
        plan = get_object_or_404(TrackingPlan, pk=self.kwargs["pk"])
        return selectors.violations(plan=plan)
