"""REST API of campaigns and message templates; mounted at /api/v1/campaigns/ by
cdp_site/urls.py. Reads need VIEW_CAMPAIGNS, writes MANAGE_CAMPAIGNS.

Writes go through campaigns/services.py and campaigns/templating.py; their problems answer
400 in the one error shape, each under its field: ``{"error": {"code": "invalid",
"fields": {"steps[2].timeout_minutes": ["..."]}}}``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns import services, templating
from campaigns.filters import CampaignFilter, DeliveryFilter, EnrollmentFilter
from campaigns.models import (
    ActivationSettings,
    Campaign,
    ChannelRules,
    Delivery,
    Enrollment,
    MessageTemplate,
)
from campaigns.results import campaign_results
from cdp_site.permissions import Cap

from .serializers import (
    CampaignInputSerializer,
    CampaignSerializer,
    CountsSerializer,
    DeliverySerializer,
    EnrollmentSerializer,
    ProtectionSerializer,
    ResultsSerializer,
    TemplateInputSerializer,
    TemplateSerializer,
)

CAMPAIGNS = (Cap.VIEW_CAMPAIGNS, Cap.MANAGE_CAMPAIGNS)
REFUSED = OpenApiResponse(description="Refused: the error says why, under its field.")
CAMPAIGN_OR_400 = {200: CampaignSerializer, 400: REFUSED}


def invalid(errors: list[dict]) -> exceptions.ValidationError:
    """A CampaignError's errors as a 400, keyed by field (``steps[2].timeout_minutes``)."""
    fields: dict[str, list[str]] = {}
    for error in errors:
        fields.setdefault(error["field"], []).append(error["message"])
    return exceptions.ValidationError(fields)


def campaign_or_404(pk: int) -> Campaign:
    return get_object_or_404(Campaign.objects.select_related("created_by"), pk=pk)


# --- campaigns ------------------------------------------------------------------------


class CampaignListView(generics.ListAPIView):
    """Campaigns, newest first (``status``, ``kind``). POST creates a draft: the journey
    and entry rules are validated, every problem under its field."""

    required_capability = CAMPAIGNS
    serializer_class = CampaignSerializer
    filterset_class = CampaignFilter

    def get_queryset(self):
        return Campaign.objects.select_related("created_by")

    @extend_schema(request=CampaignInputSerializer, responses={201: CampaignSerializer})
    def post(self, request):
        data = CampaignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        try:
            campaign = services.create_campaign(
                name=values.pop("name"),
                kind=values.pop("kind"),
                steps=values.pop("steps"),
                created_by=request.user,
                **values,
            )
        except services.CampaignError as error:
            raise invalid(error.errors) from error
        return Response(
            CampaignSerializer(campaign_or_404(campaign.pk)).data, status=status.HTTP_201_CREATED
        )


class CampaignDetailView(APIView):
    """One campaign. PUT/PATCH change it (PUT needs name, kind and steps; fields left out
    keep their value); DELETE is refused while the campaign is active: pause or finish it
    first."""

    required_capability = CAMPAIGNS

    @extend_schema(responses=CampaignSerializer)
    def get(self, request, pk: int):
        return Response(CampaignSerializer(campaign_or_404(pk)).data)

    def _update(self, request, pk: int, *, partial: bool):
        campaign = campaign_or_404(pk)
        data = CampaignInputSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        try:
            campaign = services.update_campaign(campaign=campaign, **data.validated_data)
        except services.CampaignError as error:
            raise invalid(error.errors) from error
        return Response(CampaignSerializer(campaign_or_404(campaign.pk)).data)

    @extend_schema(request=CampaignInputSerializer, responses=CAMPAIGN_OR_400)
    def put(self, request, pk: int):
        return self._update(request, pk, partial=False)

    @extend_schema(request=CampaignInputSerializer, responses=CAMPAIGN_OR_400)
    def patch(self, request, pk: int):
        return self._update(request, pk, partial=True)

    @extend_schema(request=None, responses={204: None, 400: REFUSED})
    def delete(self, request, pk: int):
        try:
            services.delete_campaign(campaign=campaign_or_404(pk))
        except services.CampaignError as error:
            raise invalid(error.errors) from error
        return Response(status=status.HTTP_204_NO_CONTENT)


class _TransitionView(APIView):
    required_capability = Cap.MANAGE_CAMPAIGNS
    transition = staticmethod(services.start_campaign)

    @extend_schema(request=None, responses=CAMPAIGN_OR_400)
    def post(self, request, pk: int):
        campaign = campaign_or_404(pk)
        try:
            self.transition(campaign=campaign)
        except services.CampaignError as error:
            raise invalid(error.errors) from error
        return Response(CampaignSerializer(campaign_or_404(pk)).data)


class StartView(_TransitionView):
    """Starts a draft (its journey validated first); a broadcast enrols its segment now,
    or at ``scheduled_at``."""

    transition = staticmethod(services.start_campaign)


class PauseView(_TransitionView):
    """Pauses an active campaign: nobody enters and nobody moves."""

    transition = staticmethod(services.pause_campaign)


class ResumeView(_TransitionView):
    """Resumes a paused campaign: timers that came due while paused run at once."""

    transition = staticmethod(services.resume_campaign)


class FinishView(_TransitionView):
    """Finishes an active or paused campaign: open enrollments exit."""

    transition = staticmethod(services.finish_campaign)


# --- people and messages of a campaign ------------------------------------------------


class EnrollmentListView(generics.ListAPIView):
    """Who entered the campaign and where each is, newest first (``state``, ``profile``)."""

    required_capability = Cap.VIEW_CAMPAIGNS
    serializer_class = EnrollmentSerializer
    filterset_class = EnrollmentFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Enrollment.objects.none()
        campaign = campaign_or_404(self.kwargs["pk"])
        return Enrollment.objects.filter(campaign=campaign)


class DeliveryListView(generics.ListAPIView):
    """Messages and actions of the campaign, newest first (``status``, ``channel``,
    ``profile``)."""

    required_capability = Cap.VIEW_CAMPAIGNS
    serializer_class = DeliverySerializer
    filterset_class = DeliveryFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Delivery.objects.none()
        campaign = campaign_or_404(self.kwargs["pk"])
        return Delivery.objects.filter(campaign=campaign)


class ResultsView(APIView):
    """The campaign's results: entered, steps, deliveries, per variant, conversions over
    time and the lift against the holdout with its 95% interval. Conversions that arrived
    since the last look are marked first."""

    required_capability = Cap.VIEW_CAMPAIGNS

    @extend_schema(responses=ResultsSerializer)
    def get(self, request, pk: int):
        results = campaign_results(campaign_or_404(pk))
        results["lift"] = results["lift"].as_dict()
        return Response(ResultsSerializer(results).data)


class CountsView(APIView):
    """Per step: how many passed each outcome, how many are there now and its deliveries
    by status; people by state."""

    required_capability = Cap.VIEW_CAMPAIGNS

    @extend_schema(responses=CountsSerializer)
    def get(self, request, pk: int):
        counts = services.journey_counts(campaign=campaign_or_404(pk))
        return Response(CountsSerializer(counts).data)


# --- message templates ----------------------------------------------------------------


def _template_problems(error: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(error, "error_dict"):
        return exceptions.ValidationError(error.message_dict)
    return exceptions.ValidationError({"non_field_errors": error.messages})


class TemplateListView(generics.ListAPIView):
    """Message templates, newest first. POST creates one; a part that doesn't compile
    answers 400 at its field (``body_html``: "Line 3: ...")."""

    required_capability = CAMPAIGNS
    serializer_class = TemplateSerializer

    def get_queryset(self):
        return MessageTemplate.objects.all()

    @extend_schema(request=TemplateInputSerializer, responses={201: TemplateSerializer})
    def post(self, request):
        data = TemplateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            template = templating.save_template(**data.validated_data)
        except DjangoValidationError as error:
            raise _template_problems(error) from error
        return Response(TemplateSerializer(template).data, status=status.HTTP_201_CREATED)


class TemplateDetailView(APIView):
    """One message template. PATCH changes it (checked like a new one); DELETE is refused
    while a campaign not finished sends it."""

    required_capability = CAMPAIGNS

    @extend_schema(responses=TemplateSerializer)
    def get(self, request, pk: int):
        return Response(TemplateSerializer(get_object_or_404(MessageTemplate, pk=pk)).data)

    @extend_schema(
        request=TemplateInputSerializer, responses={200: TemplateSerializer, 400: REFUSED}
    )
    def patch(self, request, pk: int):
        template = get_object_or_404(MessageTemplate, pk=pk)
        data = TemplateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = {
            "name": template.name,
            "channel": template.channel,
            "transactional": template.transactional,
            "subject": template.subject,
            "body_html": template.body_html,
            "body_text": template.body_text,
            **data.validated_data,
        }
        try:
            template = templating.save_template(template=template, **values)
        except DjangoValidationError as error:
            raise _template_problems(error) from error
        return Response(TemplateSerializer(template).data)

    @extend_schema(request=None, responses={204: None, 400: REFUSED})
    def delete(self, request, pk: int):
        try:
            templating.delete_template(template=get_object_or_404(MessageTemplate, pk=pk))
        except DjangoValidationError as error:
            raise _template_problems(error) from error
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- protection -----------------------------------------------------------------------


def _protection_body(settings: ActivationSettings) -> dict:
    channels = {}
    for channel in ChannelRules.Channel.values:
        rules = settings.for_channel(channel)
        channels[channel] = {name: getattr(rules, name) for name in services.RULE_FIELDS}
    return ProtectionSerializer({"time_zone": settings.time_zone, "channels": channels}).data


class ProtectionView(APIView):
    """Each message channel's frequency cap and quiet hours (``email``, ``webhook``, ``sms``) and
    the time zone quiet hours are read in. PUT changes them (the same rules as the
    campaigns' protection page): every problem answers 400 at its field."""

    required_capability = CAMPAIGNS

    @extend_schema(responses=ProtectionSerializer)
    def get(self, request):
        return Response(_protection_body(ActivationSettings.load()))

    @extend_schema(
        request=ProtectionSerializer, responses={200: ProtectionSerializer, 400: REFUSED}
    )
    def put(self, request):
        data = ProtectionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            settings = services.save_protection(**data.validated_data)
        except services.CampaignError as error:
            raise invalid(error.errors) from error
        return Response(_protection_body(settings))
