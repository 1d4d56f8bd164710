"""REST API of audience syncs, mounted at /api/v1/campaigns/audiences/: list and create
(``{"name", "segment", "destination", "audience_id"}``), one sync with its status, and
``POST …/resync/`` (a full upload; resumes a paused or broken sync). Reads need
VIEW_CAMPAIGNS, writes MANAGE_CAMPAIGNS (marketers); destinations stay an admin's.
Bad input answers 400 under its field."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp_site.permissions import Cap
from integrations.destinations.audiences import SYNC_KINDS
from integrations.destinations.models import Destination
from segments.models import Segment

from . import selectors, services
from .models import AudienceSync

CAMPAIGNS = (Cap.VIEW_CAMPAIGNS, Cap.MANAGE_CAMPAIGNS)


class SyncStatusSerializer(serializers.Serializer):
    members_sent = serializers.IntegerField()
    added = serializers.IntegerField()
    removed = serializers.IntegerField()
    failed = serializers.IntegerField()
    rejected_now = serializers.IntegerField()
    pending = serializers.IntegerField()
    full_upload = serializers.BooleanField()
    match_rate = serializers.CharField()
    last_error = serializers.CharField()
    last_error_at = serializers.DateTimeField(allow_null=True)
    last_run_at = serializers.DateTimeField(allow_null=True)
    last_success_at = serializers.DateTimeField(allow_null=True)
    next_attempt_at = serializers.DateTimeField(allow_null=True)


class AudienceSyncSerializer(serializers.ModelSerializer):
    segment = serializers.PrimaryKeyRelatedField(queryset=Segment.objects.all())
    destination = serializers.PrimaryKeyRelatedField(
        queryset=Destination.objects.filter(kind__in=SYNC_KINDS)
    )
    audience_id = serializers.CharField(max_length=40)
    sync_status = serializers.SerializerMethodField()

    class Meta:
        model = AudienceSync
        fields = [
            "id",
            "name",
            "segment",
            "destination",
            "audience_id",
            "status",
            "status_message",
            "sync_status",
            "created_at",
        ]
        read_only_fields = ["id", "status", "status_message", "sync_status", "created_at"]

    @extend_schema(responses=SyncStatusSerializer)
    def get_sync_status(self, sync) -> dict:
        return SyncStatusSerializer(selectors.status(sync)).data

    def create(self, validated_data):
        try:
            return services.create_sync(**validated_data, created_by=self.context["request"].user)
        except services.SyncError as error:
            raise exceptions.ValidationError({error.field: [error.message]}) from error


class AudienceSyncListView(generics.ListCreateAPIView):
    """Audience syncs; POST starts one (its first full upload follows within seconds)."""

    required_capability = CAMPAIGNS
    serializer_class = AudienceSyncSerializer

    def get_queryset(self):
        return selectors.syncs()


class AudienceSyncDetailView(generics.RetrieveAPIView):
    """One audience sync with its counts, match rate, last error and last run."""

    required_capability = CAMPAIGNS
    serializer_class = AudienceSyncSerializer

    def get_queryset(self):
        return selectors.syncs()


class ResyncSerializer(serializers.Serializer):
    queued = serializers.IntegerField()
    sync = AudienceSyncSerializer()


class AudienceSyncResyncView(APIView):
    """Resync everything: every member checked and sent again (202: it runs in the
    background); a paused or broken sync is resumed."""

    required_capability = CAMPAIGNS

    @extend_schema(request=None, responses={202: ResyncSerializer})
    def post(self, request, pk: int):
        sync = get_object_or_404(selectors.syncs(), pk=pk)
        queued = services.request_full(sync=sync)
        sync = selectors.syncs().get(pk=pk)
        body = {"queued": queued, "sync": AudienceSyncSerializer(sync).data}
        return Response(body, status=status.HTTP_202_ACCEPTED)
