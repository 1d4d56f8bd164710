"""REST API of profiles; mounted at /api/v1/profiles/ by cdp_site/urls.py."""

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp_site.api.pagination import CreatedCursorPagination
from cdp_site.permissions import Cap
from profiles import masking, selectors, services
from profiles.filters import MergeFilter, ProfileFilter
from profiles.models import ConsentRecord, Identity, Note, Profile, ProfileEvent

from .serializers import (
    ConsentInputSerializer,
    ConsentSerializer,
    IdentitySerializer,
    MergeInputSerializer,
    MergeSerializer,
    NoteSerializer,
    ProfileDetailSerializer,
    ProfileEventSerializer,
    ProfileSerializer,
    TimelinePageSerializer,
    TimelineQuerySerializer,
)

PROFILES = Cap.VIEW_PROFILES
NOTES = (Cap.VIEW_PROFILES, Cap.ADD_NOTES)
CONSENT = (Cap.VIEW_PROFILES, Cap.MANAGE_PROFILES)


class ProfileRefused(exceptions.APIException):
    """A ProfileError from a service, answered as 400 with its message."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "refused"
    default_detail = "The request cannot be done."


def refused(exc: services.ProfileError) -> ProfileRefused:
    return ProfileRefused(detail=str(exc), code="refused")


def active_profile(pk: int) -> Profile:
    """The active profile ``pk`` is or went into (a merged id keeps working)."""
    active = selectors.active_profile_id(profile_id=pk)
    if active is None:
        raise Http404
    return get_object_or_404(Profile, pk=active)


class EventCursorPagination(CreatedCursorPagination):
    ordering = ("-timestamp", "-event_id")


class ProfileListView(generics.ListAPIView):
    """Active profiles, newest first, narrowed by the list page's filters (``stage``,
    ``segment``, ``source``, ``trait`` and ``trait_value``: profiles/filters.py); ``q``
    searches identifiers (exact or prefix) and names (prefix) and answers one page of
    best matches; personal identifiers and names only by their whole value for a role
    that sees them masked."""

    required_capability = PROFILES
    serializer_class = ProfileSerializer
    filterset_class = ProfileFilter

    def get_queryset(self):
        return selectors.active_profiles()

    @extend_schema(parameters=[OpenApiParameter("q", str, description="Identifier or name prefix")])
    def get(self, request, *args, **kwargs):
        q = request.query_params.get("q", "").strip()
        if not q:
            return super().get(request, *args, **kwargs)
        masker = masking.masker_for_request(request)
        found = selectors.search_profiles(q=q[:200], limit=50, masker=masker)
        narrowed = self.filter_queryset(self.get_queryset().filter(pk__in=[p.pk for p in found]))
        kept = set(narrowed.values_list("pk", flat=True))
        shown = [p for p in found if p.pk in kept]
        data = ProfileSerializer(shown, many=True, context={"request": request}).data
        return Response({"next": None, "previous": None, "results": data})


class ProfileDetailView(APIView):
    """One profile: identities, traits with provenance, consent, computed traits, stage.
    A merged profile's id answers with the profile it went into."""

    required_capability = PROFILES

    @extend_schema(responses=ProfileDetailSerializer)
    def get(self, request, pk: int):
        profile = active_profile(pk)
        services.record_view(profile=profile, viewer=request.user, via="api")
        detail = selectors.profile_detail(profile=profile)
        detail["identity_list"] = [i for _, items in detail["identities"] for i in items]
        return Response(ProfileDetailSerializer(detail, context={"request": request}).data)


class IdentityListView(generics.ListAPIView):
    required_capability = PROFILES
    serializer_class = IdentitySerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no pk
            return Identity.objects.none()
        profile = active_profile(self.kwargs["pk"])
        return profile.identities.select_related("kind")


class EventListView(generics.ListAPIView):
    """The profile's resolved events, newest first."""

    required_capability = PROFILES
    serializer_class = ProfileEventSerializer
    pagination_class = EventCursorPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ProfileEvent.objects.none()
        return selectors.events_of(profile=active_profile(self.kwargs["pk"]))


class TimelineView(APIView):
    """Events, merges, unmerges, stage changes, consent, notes and refused links, newest
    first. Pass ``next`` (or ``cursor``) to page on; filter by ``kind``, ``source``,
    ``type`` (event type), ``since`` and ``until``."""

    required_capability = PROFILES

    @extend_schema(
        parameters=[
            OpenApiParameter("cursor", str),
            OpenApiParameter("limit", int),
            OpenApiParameter("kind", str, many=True, enum=list(selectors.timeline_kinds())),
            OpenApiParameter("source", int, many=True),
            OpenApiParameter("type", str, many=True, description="Event type, e.g. track."),
            OpenApiParameter(
                "since",
                OpenApiTypes.DATETIME,
                description="Items from then on (a date: from its midnight).",
            ),
            OpenApiParameter(
                "until",
                OpenApiTypes.DATETIME,
                description="Items before then (a date: before its midnight).",
            ),
        ],
        responses=TimelinePageSerializer,
    )
    def get(self, request, pk: int):
        profile = active_profile(pk)
        query = TimelineQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = selectors.timeline(profile=profile, **query.selection())
        items = masking.masker_for_request(request).timeline_items(page.items)
        next_url = None
        if page.next_cursor:
            params = request.query_params.copy()
            params["cursor"] = page.next_cursor
            next_url = request.build_absolute_uri(
                reverse("profiles-api:timeline", args=[profile.pk]) + "?" + params.urlencode()
            )
        body = {
            "next": next_url,
            "next_cursor": page.next_cursor,
            "results": [vars(item) for item in items],
        }
        return Response(TimelinePageSerializer(body).data)


class NoteListView(generics.ListCreateAPIView):
    required_capability = NOTES
    serializer_class = NoteSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Note.objects.none()
        return active_profile(self.kwargs["pk"]).notes.select_related("author")

    def perform_create(self, serializer):
        profile = active_profile(self.kwargs["pk"])
        try:
            serializer.instance = services.add_note(
                profile=profile, author=self.request.user, body=serializer.validated_data["body"]
            )
        except services.ProfileError as exc:
            raise refused(exc) from exc


class ConsentView(APIView):
    """The profile's consent per purpose and its latest records; POST records a statement."""

    required_capability = CONSENT

    def _body(self, profile: Profile) -> dict:
        records = (
            ConsentRecord.objects.filter(profile=profile)
            .select_related("purpose")
            .order_by("-recorded_at", "-id")[:100]
        )
        return ConsentSerializer(
            {"current": selectors.consent_states(profile=profile), "records": records}
        ).data

    @extend_schema(responses=ConsentSerializer)
    def get(self, request, pk: int):
        return Response(self._body(active_profile(pk)))

    @extend_schema(request=ConsentInputSerializer, responses={201: ConsentSerializer})
    def post(self, request, pk: int):
        profile = active_profile(pk)
        serializer = ConsentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            services.record_consent(
                profile=profile,
                purpose=data["purpose"],
                status=data["status"],
                actor=request.user,
                evidence={"via": "api", **data.get("evidence", {})},
            )
        except services.ProfileError as exc:
            raise refused(exc) from exc
        profile.refresh_from_db()
        return Response(self._body(profile), status=status.HTTP_201_CREATED)


class MergeListView(generics.ListAPIView):
    """The merge ledger, newest first; ``profile`` keeps merges into or out of it."""

    required_capability = PROFILES
    serializer_class = MergeSerializer
    filterset_class = MergeFilter

    def get_queryset(self):
        return selectors.merges_of()


class MergeView(APIView):
    """Merges ``merged_id`` into ``survivor_id`` (a manual merge, kept in the ledger)."""

    required_capability = Cap.MANAGE_PROFILES

    @extend_schema(request=MergeInputSerializer, responses={201: MergeSerializer})
    def post(self, request):
        serializer = MergeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            merge = services.merge_profiles(**serializer.validated_data, actor=request.user)
        except services.ProfileError as exc:
            raise refused(exc) from exc
        return Response(MergeSerializer(merge).data, status=status.HTTP_201_CREATED)


class MergeUndoView(APIView):
    """Undoes a merge: the merged profile comes back with its identities and facts."""

    required_capability = Cap.MANAGE_PROFILES

    @extend_schema(request=None, responses=MergeSerializer)
    def post(self, request, pk: int):
        try:
            merge = services.unmerge(merge_id=pk, actor=request.user)
        except services.ProfileError as exc:
            if not selectors.merges_of().filter(pk=pk).exists():
                raise Http404 from exc
            raise refused(exc) from exc
        return Response(MergeSerializer(merge).data)
