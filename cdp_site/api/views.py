from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView
from rest_framework import generics, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp_site import selectors, services
from cdp_site.access import RequiresCapability
from cdp_site.permissions import Cap, capabilities_of, role_of

from ..filters import AuditFilter
from ..models import ApiToken
from .pagination import CreatedCursorPagination
from .serializers import (
    ApiTokenCreateSerializer,
    ApiTokenSerializer,
    AuditEntrySerializer,
    MeSerializer,
    NewApiTokenSerializer,
)


class MeView(APIView):
    """Who the caller is: e-mail, role and capabilities."""

    required_capability = Cap.OWN_ACCOUNT

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        user = request.user
        data = {
            "id": user.pk,
            "email": user.email,
            "role": role_of(user),
            "capabilities": sorted(capabilities_of(user)),
        }
        return Response(MeSerializer(data).data)


class TokenListView(generics.ListAPIView):
    """The caller's own API tokens (the secret is never listed). POST creates one, with an
    optional expiry; the answer holds the token itself, this once."""

    required_capability = Cap.OWN_ACCOUNT
    serializer_class = ApiTokenSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator is anonymous
            return ApiToken.objects.none()
        return selectors.tokens_of(user=self.request.user)

    @extend_schema(request=ApiTokenCreateSerializer, responses={201: NewApiTokenSerializer})
    def post(self, request):
        data = ApiTokenCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        new = services.create_api_token(user=request.user, **data.validated_data)
        body = NewApiTokenSerializer(new.token, context={"plaintext": new.plaintext}).data
        return Response(body, status=status.HTTP_201_CREATED)


class TokenRevokeView(APIView):
    required_capability = Cap.OWN_ACCOUNT

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, pk: int):
        token = get_object_or_404(selectors.tokens_of(user=request.user), pk=pk)
        services.revoke_api_token(token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SchemaView(SpectacularAPIView):
    required_capability = Cap.OWN_ACCOUNT

    def handle_exception(self, exc):
        # Errors use the one JSON error shape, not the schema's YAML renderer.
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response


class DocsView(RequiresCapability, SpectacularRedocView):
    """The API reference page (Redoc, served from drf-spectacular-sidecar, no CDN)."""

    required_capability = Cap.OWN_ACCOUNT

    @staticmethod
    def _redoc_standalone():
        return reverse("api-docs-script")  # the sidecar's bundle, see cdp_site/api/docs.py


class AuditTrailView(generics.ListAPIView):
    """The audit trail, newest first: filter by ``action`` (a prefix: ``source.``),
    ``actor`` (a user id), ``target_type``, ``target_id``, ``since`` and ``until``."""

    required_capability = Cap.VIEW_AUDIT
    serializer_class = AuditEntrySerializer
    filterset_class = AuditFilter
    pagination_class = CreatedCursorPagination

    def get_queryset(self):
        return selectors.audit_entries()
