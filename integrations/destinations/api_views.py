"""REST API for destinations: CRUD (secrets write-only), connection test, dead letters
and their replay. Reads need VIEW_INTEGRATIONS, writes MANAGE_INTEGRATIONS."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp_site.permissions import Cap

from . import selectors, services
from .filters import DeadLetterFilter
from .models import Destination
from .serializers import (
    ConnectionTestSerializer,
    DeadLetterSerializer,
    DestinationSerializer,
    ReplaySerializer,
)

INTEGRATIONS = (Cap.VIEW_INTEGRATIONS, Cap.MANAGE_INTEGRATIONS)


class DestinationListView(generics.ListCreateAPIView):
    """Destinations; POST creates one (``secrets`` are accepted, never returned)."""

    required_capability = INTEGRATIONS
    serializer_class = DestinationSerializer

    def get_queryset(self):
        return Destination.objects.all()


class DestinationDetailView(generics.RetrieveUpdateDestroyAPIView):
    """One destination. A blank or missing secret keeps the stored one; ``kind`` is fixed."""

    required_capability = INTEGRATIONS
    serializer_class = DestinationSerializer

    def get_queryset(self):
        return Destination.objects.all()

    def perform_destroy(self, instance):
        try:
            services.delete_destination(destination=instance)
        except services.DestinationInUse as error:
            raise exceptions.ValidationError({"destination": [str(error)]}) from error


class DestinationTestView(APIView):
    """Tests the connection now; the result is also kept on the destination."""

    required_capability = INTEGRATIONS

    @extend_schema(request=None, responses=ConnectionTestSerializer)
    def post(self, request, pk: int):
        destination = get_object_or_404(Destination, pk=pk)
        ok, message = services.record_test(destination=destination)
        return Response({"ok": ok, "message": message})


class DeadLetterListView(generics.ListAPIView):
    """Dead letters, newest first. ``?destination=<id>``, ``?state=pending|replayed``."""

    required_capability = INTEGRATIONS
    serializer_class = DeadLetterSerializer

    filterset_class = DeadLetterFilter

    def get_queryset(self):
        return selectors.dead_letters()


class DeadLetterReplayView(APIView):
    """Sends a dead letter again (same payload, same idempotency key). 200 with ok=true and
    the letter marked replayed, or 502 with ok=false and the destination's error."""

    required_capability = INTEGRATIONS

    @extend_schema(request=None, responses={200: ReplaySerializer, 502: ReplaySerializer})
    def post(self, request, pk: int):
        letter = get_object_or_404(
            selectors.dead_letters().filter(destination__kind=Destination.Kind.WEBHOOK), pk=pk
        )
        ok, message = services.replay_dead_letter(dead_letter=letter)
        body = {"ok": ok, "message": message, "dead_letter": DeadLetterSerializer(letter).data}
        return Response(body, status=status.HTTP_200_OK if ok else status.HTTP_502_BAD_GATEWAY)
