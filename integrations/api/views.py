from datetime import timedelta

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp_site.api.errors import Conflict
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
ARCHIVED_CONFLICT = OpenApiResponse(description="The source is archived: restore it first.")


def _source(pk: int):
    return get_object_or_404(selectors.sources(), pk=pk)


def _unless_archived(change):
    """Runs ``change``; an archived source answers 409 (restore it first)."""
    try:
        return change()
    except services.SourceArchived as exc:
        raise Conflict(str(exc), code="source_archived") from None


class SourceListView(generics.ListCreateAPIView):
    """Sources, archived ones left out (``?archived=true`` lists those instead); POST
    creates one (its write key is generated)."""

    required_capability = INTEGRATIONS
    serializer_class = SourceSerializer
    filterset_class = SourceFilter

    def get_queryset(self):
        return selectors.sources()


@extend_schema_view(
    put=extend_schema(responses={200: SourceSerializer, 409: ARCHIVED_CONFLICT}),
    patch=extend_schema(responses={200: SourceSerializer, 409: ARCHIVED_CONFLICT}),
    delete=extend_schema(
        responses={
            204: None,
            409: OpenApiResponse(
                description="The source has sent events: archive it instead "
                "(POST /api/v1/sources/{id}/archive); code `source_has_data`."
            ),
        }
    ),
)
class SourceDetailView(generics.RetrieveUpdateDestroyAPIView):
    """One source (archived ones too). DELETE deletes a source that never sent an event;
    one that did answers 409 `source_has_data`: archive it instead, which keeps its events
    and the profiles built from them."""

    required_capability = INTEGRATIONS
    serializer_class = SourceSerializer

    def get_queryset(self):
        return selectors.sources()

    def perform_update(self, serializer):
        _unless_archived(lambda: serializer.save())

    def perform_destroy(self, instance):
        try:
            services.delete_source(source=instance)
        except services.SourceHasData as exc:
            archive = reverse("api-source-archive", args=[instance.pk])
            raise Conflict(f"{exc} POST {archive} archives it.", code="source_has_data") from None


class SourceArchiveView(APIView):
    """Archives the source: disabled, its write keys refused, left out of lists; its
    events, imports and every profile fact it brought stay. Restorable."""

    required_capability = INTEGRATIONS

    @extend_schema(request=None, responses=SourceSerializer)
    def post(self, request, pk: int):
        return Response(SourceSerializer(services.archive_source(source=_source(pk))).data)


class SourceRestoreView(APIView):
    """Brings an archived source back into the lists, still disabled: PATCH
    ``{"enabled": true}`` when its senders may send again."""

    required_capability = INTEGRATIONS

    @extend_schema(request=None, responses=SourceSerializer)
    def post(self, request, pk: int):
        return Response(SourceSerializer(services.restore_source(source=_source(pk))).data)


class SourceRotateKeyView(APIView):
    """A new write key; the old one keeps working for ``grace_hours`` (0: retired at once)."""

    required_capability = INTEGRATIONS

    @extend_schema(
        request=RotateKeySerializer, responses={200: SourceSerializer, 409: ARCHIVED_CONFLICT}
    )
    def post(self, request, pk: int):
        source = _source(pk)
        serializer = RotateKeySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        grace = timedelta(hours=serializer.validated_data["grace_hours"])
        _unless_archived(lambda: services.rotate_write_key(source=source, grace=grace))
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
