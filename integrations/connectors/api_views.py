"""REST API for pull connections: list, create, read, change (secrets write-only) and
delete them, test them, preview a stream, start, cancel and list their runs, pause and resume their
schedule; and the connector kinds installed. The same services as the pages; reads need
VIEW_INTEGRATIONS, writes MANAGE_INTEGRATIONS."""

from dataclasses import asdict

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp_site.api.errors import Conflict
from cdp_site.permissions import Cap

from . import selectors, services
from .models import SyncRun
from .preview import preview_stream
from .registry import all_kinds
from .serializers import (
    ConnectionCheckSerializer,
    ConnectionSerializer,
    ConnectorKindSerializer,
    StartSyncRunSerializer,
    StreamPreviewRequestSerializer,
    StreamPreviewSerializer,
    SyncRunDetailSerializer,
    SyncRunSerializer,
)

INTEGRATIONS = (Cap.VIEW_INTEGRATIONS, Cap.MANAGE_INTEGRATIONS)
RUN_ACTIVE = OpenApiResponse(description="A run is still going (code `run_active`).")
NO_RUN = OpenApiResponse(description="No run is going (code `no_active_run`).")
ARCHIVED = OpenApiResponse(description="Its source is archived: restore it first.")
STORING = OpenApiResponse(
    description="Its run is storing a page and did not finish in time (code `run_storing`): "
    "try again in a moment."
)


def _connection(pk: int):
    return get_object_or_404(selectors.connections(), pk=pk)


class KindListView(APIView):
    """The connector kinds installed, with the fields and streams a connection sets."""

    required_capability = INTEGRATIONS

    @extend_schema(responses=ConnectorKindSerializer(many=True))
    def get(self, request):
        kinds = [
            {
                "key": kind.key,
                "label": kind.label,
                "help": kind.help,
                "default_base_url": kind.default_base_url,
                "config": [asdict(f) for f in kind.config],
                "secrets": [asdict(f) for f in kind.secrets],
                "streams": [asdict(s) for s in kind.streams],
            }
            for kind in all_kinds()
        ]
        return Response(ConnectorKindSerializer(kinds, many=True).data)


class ConnectionListView(generics.ListCreateAPIView):
    """Connections; POST creates one with its own source (``secrets`` never returned)."""

    required_capability = INTEGRATIONS
    serializer_class = ConnectionSerializer

    def get_queryset(self):
        return selectors.connections()


@extend_schema_view(
    put=extend_schema(responses={200: ConnectionSerializer, 409: ARCHIVED}),
    patch=extend_schema(responses={200: ConnectionSerializer, 409: ARCHIVED}),
    delete=extend_schema(responses={204: None, 409: STORING}),
)
class ConnectionDetailView(generics.RetrieveUpdateDestroyAPIView):
    """One connection. A blank or missing secret keeps the stored one; ``kind`` is fixed;
    ``config`` and ``streams`` replace the stored ones when sent. DELETE deletes it with
    its credentials, cursors, runs and dropped-file records, cancelling a run going on;
    its source is archived: the events and profiles it brought stay."""

    required_capability = INTEGRATIONS
    serializer_class = ConnectionSerializer

    def get_queryset(self):
        return selectors.connections()

    def perform_destroy(self, instance):
        try:
            services.delete_connection(connection=instance, by=self.request.user)
        except services.ConnectionBusy as exc:
            raise Conflict(str(exc), code=exc.code) from None


class ConnectionTestView(APIView):
    """Tests the connection against the live service now."""

    required_capability = INTEGRATIONS

    @extend_schema(request=None, responses=ConnectionCheckSerializer)
    def post(self, request, pk: int):
        result = services.test_connection(connection=_connection(pk))
        return Response(asdict(result))


class ConnectionPreviewView(APIView):
    """The first page of a stream as it would be stored, nothing stored: each record with
    the message it becomes, or why it would be rejected. 502 when the service could not be
    read (``error`` and ``code`` say why)."""

    required_capability = INTEGRATIONS

    @extend_schema(
        request=StreamPreviewRequestSerializer,
        responses={200: StreamPreviewSerializer, 502: StreamPreviewSerializer},
    )
    def post(self, request, pk: int):
        connection = _connection(pk)
        asked = StreamPreviewRequestSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        found = preview_stream(connection=connection, **asked.validated_data)
        if found.code in ("stream", "rules"):
            raise exceptions.ValidationError({found.code: [found.error]})
        body = StreamPreviewSerializer(found).data
        return Response(body, status=status.HTTP_502_BAD_GATEWAY if found.error else 200)


class RunListView(APIView):
    """The connection's runs, newest first; POST starts one now (409 while one is going)."""

    required_capability = INTEGRATIONS

    @extend_schema(responses=SyncRunSerializer(many=True))
    def get(self, request, pk: int):
        runs = selectors.runs(connection=_connection(pk))[:100]
        return Response(SyncRunSerializer(runs, many=True).data)

    @extend_schema(
        request=StartSyncRunSerializer, responses={201: SyncRunSerializer, 409: RUN_ACTIVE}
    )
    def post(self, request, pk: int):
        connection = _connection(pk)
        asked = StartSyncRunSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        full = asked.validated_data["full"]
        trigger = SyncRun.Trigger.FULL if full else SyncRun.Trigger.MANUAL
        try:
            run = services.start_run(connection=connection, trigger=trigger, user=request.user)
        except services.RunRefused as exc:
            raise Conflict(str(exc), code=exc.code) from None
        return Response(SyncRunSerializer(run).data, status=status.HTTP_201_CREATED)


class RunDetailView(APIView):
    """One run with its rejected records (the first 50) and their reasons."""

    required_capability = INTEGRATIONS

    @extend_schema(responses=SyncRunDetailSerializer)
    def get(self, request, pk: int, run_pk: int):
        run = get_object_or_404(selectors.runs(connection=_connection(pk)), pk=run_pk)
        return Response(SyncRunDetailSerializer(run).data)


class CancelView(APIView):
    """Asks the active run to stop at its next page; 409 when none is going."""

    required_capability = INTEGRATIONS

    @extend_schema(request=None, responses={200: SyncRunSerializer, 409: NO_RUN})
    def post(self, request, pk: int):
        active = selectors.active_run(connection=_connection(pk))
        if active is None:
            raise Conflict("No run is going.", code="no_active_run")
        return Response(SyncRunSerializer(services.cancel_run(run=active)).data)


class _PauseView(APIView):
    required_capability = INTEGRATIONS
    paused = True

    @extend_schema(request=None, responses=ConnectionSerializer)
    def post(self, request, pk: int):
        connection = services.set_paused(connection=_connection(pk), paused=self.paused)
        return Response(ConnectionSerializer(connection).data)


class PauseView(_PauseView):
    """Stops scheduled runs (a run going on goes on; cancel it to stop it)."""


class ResumeView(_PauseView):
    """Scheduled runs again, the first one now."""

    paused = False
