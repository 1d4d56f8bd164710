"""REST API of the personalisation settings, per source: GET lists them, GET/PUT one
source's (the same rules as its page; every problem answers 400 at its field). Reads
need VIEW_CAMPAIGNS, writes MANAGE_INTEGRATIONS, as for the sources themselves."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.personalization import settings as personalization
from cdp_site.api.limits import BIGINT_MAX
from cdp_site.permissions import Cap
from integrations.models import Source

from .views import REFUSED, invalid

SETTINGS_CAPS = (Cap.VIEW_CAMPAIGNS, Cap.MANAGE_INTEGRATIONS)


class PersonalizationSerializer(serializers.Serializer):
    source = serializers.IntegerField(read_only=True)
    segments = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=BIGINT_MAX),
        max_length=200,
        help_text="Ids of segments flagged for on-site use whose membership is shown.",
    )
    traits = serializers.ListField(
        child=serializers.CharField(max_length=100),
        max_length=personalization.MAX_TRAITS,
        help_text="Trait or computed-trait names whose values are shown.",
    )
    stage = serializers.BooleanField(help_text="Show the journey stage.")
    origins = serializers.ListField(
        child=serializers.CharField(max_length=200),
        max_length=personalization.MAX_ORIGINS,
        help_text="Web origins whose pages may read answers, e.g. https://shop.example.",
    )


def _body(source: Source) -> dict:
    setting = personalization.setting_for(source)
    return {
        "source": source.pk,
        "segments": sorted(setting.segments.values_list("pk", flat=True)) if setting.pk else [],
        "traits": list(setting.traits or ()),
        "stage": setting.stage,
        "origins": list(source.personalize_origins or ()),
    }


class PersonalizationListView(APIView):
    """Every source's personalisation settings."""

    required_capability = SETTINGS_CAPS

    @extend_schema(responses=PersonalizationSerializer(many=True))
    def get(self, request):
        return Response([_body(s) for s in Source.objects.filter(archived_at=None)])


class PersonalizationDetailView(APIView):
    """One source's personalisation settings; PUT replaces them."""

    required_capability = SETTINGS_CAPS

    @extend_schema(responses=PersonalizationSerializer)
    def get(self, request, source_id: int):
        return Response(_body(get_object_or_404(Source, pk=source_id, archived_at=None)))

    @extend_schema(
        request=PersonalizationSerializer,
        responses={200: PersonalizationSerializer, 400: REFUSED},
    )
    def put(self, request, source_id: int):
        source = get_object_or_404(Source, pk=source_id, archived_at=None)
        data = PersonalizationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            personalization.save_settings(
                source=source,
                segment_ids=values["segments"],
                traits=values["traits"],
                stage=values["stage"],
                origins=values["origins"],
                actor=request.user,
            )
        except personalization.PersonalizationError as error:
            raise invalid(error.errors) from error
        source.refresh_from_db()
        return Response(_body(source))
