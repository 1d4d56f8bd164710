"""REST API of segments; mounted at /api/v1/segments/ by cdp_site/urls.py.

Rule problems answer 400 in the one error shape, each under the rule path it is at:
``{"error": {"code": "invalid", "fields": {"rule.root.children[0].op": ["Choose how to
compare."]}}}``.
"""

from __future__ import annotations

import re
import time

from django.db.models import OuterRef, Subquery
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp_site.api.parsers import JSONBodyParser
from cdp_site.counting import TimeLimitExceeded, time_limit
from cdp_site.permissions import Cap
from profiles import masking
from profiles.models import Identity, Profile
from segments import compiler, export, services, static_lists
from segments.filters import MemberFilter, MembershipChangeFilter, SegmentFilter
from segments.models import Membership, MembershipChange, Segment

from .serializers import (
    ChangeSerializer,
    CountSerializer,
    CreateStaticSerializer,
    ListUploadSerializer,
    MemberSerializer,
    PreviewSerializer,
    RuleInputSerializer,
    SegmentInputSerializer,
    SegmentSerializer,
    SegmentUpdateSerializer,
    UploadAnswerSerializer,
)

SEGMENTS = (Cap.VIEW_SEGMENTS, Cap.MANAGE_SEGMENTS)
COUNT_TIMEOUT_MS = 15_000
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class SegmentRefused(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "refused"
    default_detail = "The request cannot be done."


class CountTooSlow(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "too_slow"
    default_detail = "Counting took too long; narrow the rule and try again."


JSON_PARSERS = [JSONBodyParser, FormParser, MultiPartParser]  # the defaults, said here


def invalid(errors: list[dict], *, rule: bool = True) -> exceptions.ValidationError:
    """A SegmentError's / RuleError's errors as a 400, keyed by field (``rule.<path>``)."""
    fields: dict[str, list[str]] = {}
    for error in errors:
        name = error["field"]
        if rule and name != "rule":
            name = f"rule.{name}"
        fields.setdefault(_printable(name), []).append(_printable(error["message"]))
    return exceptions.ValidationError(fields)


def _printable(text: str) -> str:
    """A message may quote the client's own field names: a lone surrogate in one would
    make the JSON renderer fail (UTF-8 cannot encode it)."""
    return LONE_SURROGATE.sub("\ufffd", text)


def segment_or_404(pk: int) -> Segment:
    return get_object_or_404(Segment.objects.select_related("created_by"), pk=pk)


def _email_of(ref: str):
    return Subquery(
        Identity.objects.filter(profile_id=OuterRef(ref), kind__name="email")
        .order_by("-last_seen_at", "id")
        .values("value")[:1]
    )


def _timed(run):
    """``run()`` under a statement timeout; (result, milliseconds)."""
    started = time.monotonic()
    try:
        with time_limit(COUNT_TIMEOUT_MS):
            result = run()
    except TimeLimitExceeded as error:
        raise CountTooSlow() from error
    return result, int((time.monotonic() - started) * 1000)


# --- segments -------------------------------------------------------------------------


class SegmentListView(generics.ListAPIView):
    """Segments, newest first (``kind``, ``q`` on the name). POST creates one: a rule-based
    segment (validated: every problem under its rule path) or an empty uploaded list."""

    required_capability = SEGMENTS
    parser_classes = JSON_PARSERS
    serializer_class = SegmentSerializer

    filterset_class = SegmentFilter

    def get_queryset(self):
        return Segment.objects.select_related("created_by")

    @extend_schema(request=SegmentInputSerializer, responses={201: SegmentSerializer})
    def post(self, request):
        data = SegmentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            if values["kind"] == Segment.Kind.STATIC:
                segment = static_lists.create_static_segment(
                    name=values["name"],
                    description=values["description"],
                    created_by=request.user,
                )
            else:
                segment = services.create_segment(
                    name=values["name"],
                    description=values["description"],
                    rule=values["rule"],
                    created_by=request.user,
                    include_restricted=values["include_restricted"],
                    on_site=values["on_site"],
                )
        except services.SegmentError as error:
            raise invalid(error.errors, rule=values["kind"] == Segment.Kind.DYNAMIC) from error
        segment.refresh_from_db()
        return Response(SegmentSerializer(segment).data, status=status.HTTP_201_CREATED)


class SegmentDetailView(APIView):
    """One segment. PUT/PATCH change its name, description and (rule-based) rule; DELETE
    is refused while another segment refers to it."""

    required_capability = SEGMENTS
    parser_classes = JSON_PARSERS

    @extend_schema(responses=SegmentSerializer)
    def get(self, request, pk: int):
        return Response(SegmentSerializer(segment_or_404(pk)).data)

    def _update(self, request, pk: int, *, partial: bool):
        segment = segment_or_404(pk)
        data = SegmentUpdateSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if not partial and "name" not in values:
            raise exceptions.ValidationError({"name": ["This field is required."]})
        if segment.kind == Segment.Kind.STATIC and "rule" in values and values["rule"] != {}:
            raise exceptions.ValidationError(
                {"rule": ["An uploaded-list segment has no rule; upload a new list instead."]}
            )
        if segment.kind == Segment.Kind.DYNAMIC and not partial and "rule" not in values:
            raise exceptions.ValidationError({"rule": ["This field is required."]})
        try:
            segment = services.update_segment(
                segment=segment,
                name=values.get("name", segment.name),
                description=values.get("description", segment.description),
                rule=values.get("rule", segment.rule),
                include_restricted=values.get("include_restricted"),
                on_site=values.get("on_site"),
            )
        except services.SegmentError as error:
            raise invalid(error.errors) from error
        segment.refresh_from_db()
        return Response(SegmentSerializer(segment).data)

    @extend_schema(request=SegmentUpdateSerializer, responses=SegmentSerializer)
    def put(self, request, pk: int):
        return self._update(request, pk, partial=False)

    @extend_schema(request=SegmentUpdateSerializer, responses=SegmentSerializer)
    def patch(self, request, pk: int):
        return self._update(request, pk, partial=True)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, pk: int):
        segment = segment_or_404(pk)
        try:
            services.delete_segment(segment=segment)
        except services.SegmentError as error:
            raise SegmentRefused(detail=str(error)) from error
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- unsaved rules --------------------------------------------------------------------


def _checked_rule(request) -> tuple[dict, dict]:
    data = RuleInputSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    values = data.validated_data
    try:
        services.check_rule(values["rule"], segment_id=values.get("segment"))
    except services.SegmentError as error:
        raise invalid(error.errors) from error
    return values["rule"], values


class CountView(APIView):
    """How many active profiles an (unsaved) rule matches now."""

    required_capability = Cap.VIEW_SEGMENTS
    parser_classes = JSON_PARSERS

    @extend_schema(request=RuleInputSerializer, responses=CountSerializer)
    def post(self, request):
        rule, values = _checked_rule(request)
        with_restricted = values["include_restricted"]
        count, ms = _timed(
            lambda: compiler.queryset(rule, include_restricted=with_restricted).count()
        )
        return Response(CountSerializer({"count": count, "ms": ms}).data)


class PreviewView(APIView):
    """The count and a sample of the profiles an (unsaved) rule matches."""

    required_capability = Cap.VIEW_SEGMENTS
    parser_classes = JSON_PARSERS

    @extend_schema(request=RuleInputSerializer, responses=PreviewSerializer)
    def post(self, request):
        rule, values = _checked_rule(request)

        def run():
            matched = compiler.queryset(rule, include_restricted=values["include_restricted"])
            sample = list(
                matched.annotate(email=_email_of("pk"))
                .order_by("-pk")
                .values("id", "display_name", "email", "stage", "last_seen_at")[: values["limit"]]
            )
            return matched.count(), sample

        (count, sample), ms = _timed(run)
        masker = masking.masker_for_request(request)
        for row in sample:  # personal data masked for whoever may not see it
            row["display_name"] = masker.name(row["display_name"])
            row["email"] = masker.identity("email", row["email"])
        return Response(PreviewSerializer({"count": count, "ms": ms, "sample": sample}).data)


# --- a segment's members --------------------------------------------------------------


class MemberListView(generics.ListAPIView):
    """The segment's members, latest entries first, with name, e-mail and stage."""

    required_capability = Cap.VIEW_SEGMENTS
    serializer_class = MemberSerializer
    filterset_class = MemberFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Membership.objects.none()
        segment = segment_or_404(self.kwargs["pk"])
        profile = Profile.objects.filter(pk=OuterRef("profile_id"))
        return Membership.objects.filter(segment=segment).annotate(
            name=Subquery(profile.values("display_name")[:1]),
            stage=Subquery(profile.values("stage")[:1]),
            email=_email_of("profile_id"),
        )


class HistoryView(generics.ListAPIView):
    """Entries and exits, newest first; ``profile`` keeps one person's, ``change`` one kind."""

    required_capability = Cap.VIEW_SEGMENTS
    serializer_class = ChangeSerializer
    filterset_class = MembershipChangeFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return MembershipChange.objects.none()
        return MembershipChange.objects.filter(segment=segment_or_404(self.kwargs["pk"]))


class ExportView(APIView):
    """The members as CSV (streamed): profile id, name, e-mail, phone, stage, entered
    at, then one column per identifier kind. Personal data: only for a role granted to
    see it (403 otherwise), and audited."""

    required_capability = Cap.VIEW_SEGMENTS

    def perform_content_negotiation(self, request, force=False):
        # The answer is CSV whatever the Accept header; errors stay JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, pk: int):
        segment = segment_or_404(pk)
        try:
            export.check_download(user=request.user)
        except export.Refused as refused:
            raise exceptions.PermissionDenied(str(refused)) from None
        export.record_download(segment=segment, via="api")
        response = StreamingHttpResponse(
            export.stream_csv(segment=segment), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = (
            f'attachment; filename="{export.filename(segment=segment)}"'
        )
        response["Cache-Control"] = "no-store"
        return response


class RecomputeView(APIView):
    """Queues a full recompute of the segment; answers at once (202)."""

    required_capability = Cap.MANAGE_SEGMENTS

    @extend_schema(request=None, responses={202: SegmentSerializer})
    def post(self, request, pk: int):
        segment = segment_or_404(pk)
        services.queue_recompute(segment=segment)
        segment.refresh_from_db()
        return Response(SegmentSerializer(segment).data, status=status.HTTP_202_ACCEPTED)


# --- uploaded lists -------------------------------------------------------------------


def _upload_answer(segment: Segment, result) -> dict:
    segment.refresh_from_db()
    return UploadAnswerSerializer({"segment": segment, "result": result}).data


class UploadView(APIView):
    """Sets an uploaded-list segment's members from a CSV (multipart ``file``): a column
    per identifier kind (email, user_id, phone...) or columns kind,value; ``kind`` when
    every value is of one kind; ``mode`` replace (default) or add. Rows not found or
    malformed are reported by line."""

    required_capability = Cap.MANAGE_SEGMENTS
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request=ListUploadSerializer, responses=UploadAnswerSerializer)
    def post(self, request, pk: int):
        segment = segment_or_404(pk)
        data = ListUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            result = static_lists.import_csv(
                segment=segment,
                file=values["file"],
                kind=values.get("kind"),
                mode=values["mode"],
            )
        except services.SegmentError as error:
            raise invalid(error.errors, rule=False) from error
        return Response(_upload_answer(segment, result))


class CreateStaticView(APIView):
    """Creates an uploaded-list segment from a CSV (multipart ``name``, ``file``,
    optional ``kind`` and ``description``); an unusable file creates nothing."""

    required_capability = Cap.MANAGE_SEGMENTS
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request=CreateStaticSerializer,
        responses={201: UploadAnswerSerializer, 400: OpenApiResponse(description="Invalid.")},
    )
    def post(self, request):
        data = CreateStaticSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            segment, result = static_lists.create_static_segment_from_csv(
                name=values["name"],
                description=values["description"],
                file=values["file"],
                kind=values.get("kind"),
                created_by=request.user,
            )
        except services.SegmentError as error:
            raise invalid(error.errors, rule=False) from error
        return Response(_upload_answer(segment, result), status=status.HTTP_201_CREATED)
