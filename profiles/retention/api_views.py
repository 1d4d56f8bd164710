"""REST API of retention (MANAGE_ACCOUNT: admins), mounted at /api/v1/retention/ by
profiles/api/urls.py: the rules (CRUD), the settings, the preview of the next run, the
runs and starting one. Every change goes through profiles.retention.services (audited)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp_site.api.parsers import JSONBodyParser
from cdp_site.permissions import Cap

from . import selectors, services
from .rules import settings_row
from .serializers import (
    RetentionPolicySerializer,
    RetentionRunSerializer,
    RetentionSettingsSerializer,
    StartRetentionRunSerializer,
    plan_json,
)

MANAGE = Cap.MANAGE_ACCOUNT


def _refused(error: services.RetentionError) -> exceptions.ValidationError:
    fields: dict[str, list[str]] = {}
    for e in error.errors:
        fields.setdefault(e["field"] or "non_field_errors", []).append(e["message"])
    return exceptions.ValidationError(fields)


class PolicyListView(generics.ListCreateAPIView):
    """Retention rules; POST adds one (``source`` null: every source; ``event_name``
    blank: every event; not both)."""

    required_capability = MANAGE
    serializer_class = RetentionPolicySerializer

    def get_queryset(self):
        return selectors.policies()

    def perform_create(self, serializer):
        try:
            serializer.instance = services.create_policy(
                actor=self.request.user, **serializer.validated_data
            )
        except services.RetentionError as error:
            raise _refused(error) from error


class PolicyDetailView(generics.RetrieveUpdateDestroyAPIView):
    """One rule: read, change (PATCH/PUT), delete."""

    required_capability = MANAGE
    serializer_class = RetentionPolicySerializer

    def get_queryset(self):
        return selectors.policies()

    def perform_update(self, serializer):
        try:
            services.update_policy(
                policy=serializer.instance, actor=self.request.user, **serializer.validated_data
            )
        except services.RetentionError as error:
            raise _refused(error) from error

    def perform_destroy(self, instance):
        services.delete_policy(policy=instance, actor=self.request.user)


class SettingsView(APIView):
    """The default months, and what happens to profiles inactive for years."""

    required_capability = MANAGE

    @extend_schema(responses=RetentionSettingsSerializer)
    def get(self, request):
        return Response(RetentionSettingsSerializer(settings_row()).data)

    @extend_schema(request=RetentionSettingsSerializer, responses=RetentionSettingsSerializer)
    def patch(self, request):
        given = RetentionSettingsSerializer(settings_row(), data=request.data, partial=True)
        given.is_valid(raise_exception=True)
        try:
            saved = services.update_settings(actor=request.user, **given.validated_data)
        except services.RetentionError as error:
            raise _refused(error) from error
        return Response(RetentionSettingsSerializer(saved).data)

    put = patch


class PreviewView(APIView):
    """What the next run will remove: months dropped (rows estimated from statistics),
    events per name (exact up to a million, then ``at_least``), inactive profiles, the
    operational tables (``rows`` null: counted by the run)."""

    required_capability = MANAGE

    @extend_schema(responses={200: OpenApiResponse(description="The preview.")})
    def get(self, request):
        return Response(plan_json(selectors.plan()))


class RunListView(generics.ListAPIView):
    """Retention runs, newest first; POST starts one (``dry_run``: only count)."""

    required_capability = MANAGE
    serializer_class = RetentionRunSerializer
    parser_classes = [JSONBodyParser]  # {"dry_run": true}, or no body

    def get_queryset(self):
        return selectors.runs()

    @extend_schema(request=StartRetentionRunSerializer, responses={202: RetentionRunSerializer})
    def post(self, request):
        given = StartRetentionRunSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        started = services.start_run(actor=request.user, dry_run=given.validated_data["dry_run"])
        return Response(RetentionRunSerializer(started).data, status=status.HTTP_202_ACCEPTED)


class RunDetailView(generics.RetrieveAPIView):
    required_capability = MANAGE
    serializer_class = RetentionRunSerializer

    def get_queryset(self):
        return selectors.runs()
