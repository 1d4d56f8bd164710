"""REST API of the quarantine (routes in integrations/api/urls.py): list, counts per
source, replay one or many."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp_site.permissions import Cap
from integrations.filters import QuarantinedEventFilter
from integrations.models import QuarantinedEvent
from integrations.quarantine import selectors, services

INTEGRATIONS = (Cap.VIEW_INTEGRATIONS, Cap.MANAGE_INTEGRATIONS)


class QuarantinedEventSerializer(serializers.ModelSerializer):
    source = serializers.IntegerField(source="source_id")

    class Meta:
        model = QuarantinedEvent
        fields = [
            "id",
            "event_id",
            "source",
            "received_at",
            "step",
            "error",
            "payload",
            "quarantined_at",
        ]
        read_only_fields = fields


class QuarantineCountSerializer(serializers.Serializer):
    source = serializers.IntegerField(source="source_id")
    name = serializers.CharField()
    count = serializers.IntegerField()
    latest = serializers.DateTimeField()


class ReplaySerializer(serializers.Serializer):
    source = serializers.IntegerField(
        required=False, min_value=1, help_text="Only this source's events; all when omitted."
    )


class ReplayedSerializer(serializers.Serializer):
    replayed = serializers.IntegerField(help_text="Events put back in the processing queue.")


class QuarantinedEventListView(generics.ListAPIView):
    """Events processing set aside (each failed alone with a data error), newest first."""

    required_capability = INTEGRATIONS
    serializer_class = QuarantinedEventSerializer
    filterset_class = QuarantinedEventFilter

    def get_queryset(self):
        return selectors.quarantined()


class QuarantineCountsView(APIView):
    """How many events are quarantined per source, the largest first."""

    required_capability = INTEGRATIONS

    @extend_schema(responses=QuarantineCountSerializer(many=True))
    def get(self, request):
        return Response(QuarantineCountSerializer(selectors.counts_per_source(), many=True).data)


class QuarantinedEventReplayView(APIView):
    """Puts one quarantined event back in the processing queue."""

    required_capability = INTEGRATIONS

    @extend_schema(request=None, responses=ReplayedSerializer)
    def post(self, request, pk: int):
        event = get_object_or_404(selectors.quarantined(), pk=pk)
        return Response({"replayed": services.replay(ids=[event.pk])})


class QuarantineReplayView(APIView):
    """Puts every quarantined event (of one source, or all) back in the processing queue."""

    required_capability = INTEGRATIONS

    @extend_schema(request=ReplaySerializer, responses=ReplayedSerializer)
    def post(self, request):
        body = ReplaySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return Response({"replayed": services.replay(source_id=body.validated_data.get("source"))})
