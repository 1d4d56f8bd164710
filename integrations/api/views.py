from datetime import timedelta

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp_site.permissions import Cap
from integrations import selectors, services
from integrations.filters import EventFilter, RejectedEventFilter, SourceFilter

from .serializers import (
    EventSerializer,
    RejectedEventSerializer,
    RotateKeySerializer,
    SourceSerializer,
    VerificationSecretSerializer,
)

INTEGRATIONS = (Cap.VIEW_INTEGRATIONS, Cap.MANAGE_INTEGRATIONS)


class SourceListView(generics.ListCreateAPIView):
    """Sources; POST creates one (its write key is generated)."""

    required_capability = INTEGRATIONS
    serializer_class = SourceSerializer
    filterset_class = SourceFilter

    def get_queryset(self):
        return selectors.sources()


class SourceDetailView(generics.RetrieveUpdateDestroyAPIView):
    """One source. DELETE keeps its events (the events table is append-only history)."""

    required_capability = INTEGRATIONS
    serializer_class = SourceSerializer

    def get_queryset(self):
        return selectors.sources()

    def perform_destroy(self, instance):
        services.delete_source(source=instance)


class SourceRotateKeyView(APIView):
    """A new write key; the old one keeps working for ``grace_hours`` (0: retired at once)."""

    required_capability = INTEGRATIONS

    @extend_schema(request=RotateKeySerializer, responses=SourceSerializer)
    def post(self, request, pk: int):
        source = get_object_or_404(selectors.sources(), pk=pk)
        serializer = RotateKeySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        grace = timedelta(hours=serializer.validated_data["grace_hours"])
        services.rotate_write_key(source=source, grace=grace)
        return Response(SourceSerializer(source).data)


class SourceVerificationSecretView(APIView):
    """GET: the source's identity-verification secret (for your backend's configuration);
    POST: a new one (calls signed with the old one stop verifying at once)."""

    required_capability = Cap.MANAGE_INTEGRATIONS

    @extend_schema(responses=VerificationSecretSerializer)
    def get(self, request, pk: int):
        source = get_object_or_404(selectors.sources(), pk=pk)
        return Response({"verification_secret": services.verification_secret(source=source)})

    @extend_schema(request=None, responses=VerificationSecretSerializer)
    def post(self, request, pk: int):
        source = get_object_or_404(selectors.sources(), pk=pk)
        secret = services.rotate_verification_secret(source=source)
        return Response({"verification_secret": secret})


class EventListView(generics.ListAPIView):
    """Stored events, newest first; filter by source, type, name, time and person ids."""

    required_capability = INTEGRATIONS
    serializer_class = EventSerializer
    filterset_class = EventFilter

    def get_queryset(self):
        return selectors.events()


class RejectedEventListView(generics.ListAPIView):
    """Messages the collection API refused in the last 7 days, with the reason."""

    required_capability = INTEGRATIONS
    serializer_class = RejectedEventSerializer
    filterset_class = RejectedEventFilter

    def get_queryset(self):
        return selectors.rejected_events()
