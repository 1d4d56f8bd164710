"""REST API of privacy requests (HANDLE_PRIVACY_REQUESTS: account managers and admins):
list and record requests, read one (an erasure's jobs at the destinations included), run
one; retry a destination's job now or mark it handled by hand. Mounted at
/api/v1/privacy-requests/ by profiles/api/urls.py."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp_site.permissions import Cap

from ..models import PrivacyRequest, PropagationJob
from . import propagation, selectors, services
from .filters import PrivacyRequestFilter
from .serializers import (
    HandledSerializer,
    PrivacyRequestInputSerializer,
    PrivacyRequestSerializer,
    PropagationJobSerializer,
    RunSerializer,
)
from .views import download_url


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The request cannot be run now."


class _Output:
    """The output serializer's context: the request (absolute links) and how to sign the
    export's link."""

    def get_serializer_context(self):
        return {
            "request": self.request,
            "view": self,
            "download_url": lambda obj: download_url(self.request, obj),
        }


def _out(view, obj) -> dict:
    return PrivacyRequestSerializer(obj, context=view.get_serializer_context()).data


class PrivacyRequestListView(_Output, generics.ListCreateAPIView):
    """Privacy requests, newest first, narrowed by ``kind`` and ``status``; POST records
    one (running it is ``run/``). The identifier is normalised as identity resolution
    does (an e-mail's case and spaces)."""

    required_capability = Cap.HANDLE_PRIVACY_REQUESTS
    serializer_class = PrivacyRequestSerializer
    filterset_class = PrivacyRequestFilter

    def get_queryset(self):
        return selectors.requests().prefetch_related("propagation_jobs__handled_by")

    @extend_schema(request=PrivacyRequestInputSerializer, responses={201: PrivacyRequestSerializer})
    def post(self, request, *args, **kwargs):
        given = PrivacyRequestInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            created = services.create_request(**given.validated_data, requested_by=request.user)
        except services.PrivacyError as error:
            raise exceptions.ValidationError({"identifier_value": [str(error)]}) from error
        return Response(_out(self, created), status=status.HTTP_201_CREATED)


class PrivacyRequestDetailView(_Output, generics.RetrieveAPIView):
    """One privacy request: its status, counts and, for an export, its download link."""

    required_capability = Cap.HANDLE_PRIVACY_REQUESTS
    serializer_class = PrivacyRequestSerializer

    def get_queryset(self):
        return selectors.requests().prefetch_related("propagation_jobs__handled_by")


class PrivacyRequestRunView(_Output, APIView):
    """Runs the request: a restriction at once; an access (export) or an erasure in the
    background (status ``running``; read the request until it is done). Erasure and
    restriction need ``confirm: true``."""

    required_capability = Cap.HANDLE_PRIVACY_REQUESTS

    @extend_schema(
        request=RunSerializer,
        responses={
            202: PrivacyRequestSerializer,
            409: OpenApiResponse(description="Running or done already."),
        },
    )
    def post(self, request, pk: int):
        privacy_request = get_object_or_404(PrivacyRequest, pk=pk)
        given = RunSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        confirmed = given.validated_data["confirm"]
        if privacy_request.kind != PrivacyRequest.Kind.ACCESS and not confirmed:
            raise exceptions.ValidationError({"confirm": ["Confirm to erase or restrict."]})
        try:
            started = services.start(request=privacy_request, actor=request.user)
        except services.PrivacyError as error:
            raise Conflict(detail=str(error)) from error
        return Response(_out(self, started), status=status.HTTP_202_ACCEPTED)


def _job(pk: int, job_pk: int) -> PropagationJob:
    return get_object_or_404(PropagationJob, pk=job_pk, request_id=pk)


class PropagationJobRetryView(APIView):
    """Tries a failed or dead destination's job again now (one more attempt; the job's
    ``status`` says how it went once a worker took it)."""

    required_capability = Cap.HANDLE_PRIVACY_REQUESTS

    @extend_schema(
        request=None,
        responses={
            202: PropagationJobSerializer,
            409: OpenApiResponse(description="Not failed or dead: nothing to retry."),
        },
    )
    def post(self, request, pk: int, job_pk: int):
        try:
            job = propagation.retry_now(job=_job(pk, job_pk), actor=request.user)
        except propagation.JobError as error:
            raise Conflict(detail=str(error)) from error
        return Response(PropagationJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class PropagationJobHandledView(APIView):
    """Marks a destination's job handled by hand, with a note saying what was done; the
    request completes when it was the last one open."""

    required_capability = Cap.HANDLE_PRIVACY_REQUESTS

    @extend_schema(
        request=HandledSerializer,
        responses={
            200: PropagationJobSerializer,
            409: OpenApiResponse(description="Succeeded or handled already."),
        },
    )
    def post(self, request, pk: int, job_pk: int):
        job = _job(pk, job_pk)
        given = HandledSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            job = propagation.mark_handled(
                job=job, note=given.validated_data["note"], actor=request.user
            )
        except propagation.JobError as error:
            raise Conflict(detail=str(error)) from error
        return Response(PropagationJobSerializer(job).data)
