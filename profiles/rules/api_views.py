"""REST API of the rules of profiles: identifier kinds, blocked values, the identity-rules
dry run, computed traits, trait survivorship and stage rules. Reading needs
VIEW_PROFILES; changing needs MANAGE_IDENTITY_RULES (admins)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp_site.permissions import ADMIN, Cap

from ..models import BlockedValue, ComputedTrait, IdentifierKind, StageRule, TraitKey
from . import services
from .dryrun import dry_run
from .serializers import (
    BlockedValueSerializer,
    ComputedTraitSerializer,
    DryRunRequestSerializer,
    DryRunResultSerializer,
    IdentifierKindSerializer,
    PersonalDataRolesSerializer,
    StageRuleSerializer,
    TraitKeySerializer,
)

RULES = (Cap.VIEW_PROFILES, Cap.MANAGE_IDENTITY_RULES)


def _refused(error: services.RulesError):
    return serializers.ValidationError({"non_field_errors": [str(error)]})


class IdentifierKindListView(generics.ListCreateAPIView):
    """Identifier kinds, strongest first; POST adds a custom kind. Changes apply to events
    processed from now on: try them first with identity-rules/dry-run/."""

    required_capability = RULES
    serializer_class = IdentifierKindSerializer
    queryset = IdentifierKind.objects.all()

    def perform_create(self, serializer):
        data = serializer.validated_data
        try:
            serializer.instance = services.create_kind(
                name=data["name"],
                label=data["label"],
                priority=data.get("priority", 50),
                max_per_profile=data.get("max_per_profile"),
                normalizer=data.get("normalizer", "text"),
                trait_keys=data.get("trait_keys", []),
                personal=data.get("personal", False),
            )
        except services.RulesError as error:
            raise _refused(error) from error


class IdentifierKindDetailView(generics.RetrieveUpdateDestroyAPIView):
    """One identifier kind; built-in kinds and kinds in use cannot be deleted."""

    required_capability = RULES
    serializer_class = IdentifierKindSerializer
    queryset = IdentifierKind.objects.all()

    def perform_update(self, serializer):
        changes = {k: v for k, v in serializer.validated_data.items() if k != "name"}
        try:
            serializer.instance = services.update_kind(kind=serializer.instance, **changes)
        except services.RulesError as error:
            raise _refused(error) from error

    def perform_destroy(self, instance):
        try:
            services.delete_kind(kind=instance)
        except services.RulesError as error:
            raise _refused(error) from error


class BlockedValueListView(generics.ListCreateAPIView):
    """Values never used to link; ``kind`` null blocks the value for every kind."""

    required_capability = RULES
    serializer_class = BlockedValueSerializer
    queryset = BlockedValue.objects.select_related("kind")

    def perform_create(self, serializer):
        data = serializer.validated_data
        try:
            serializer.instance = services.add_blocked_value(
                kind=data.get("kind"), value=data["value"]
            )
        except services.RulesError as error:
            raise _refused(error) from error


class BlockedValueDetailView(generics.RetrieveDestroyAPIView):
    required_capability = RULES
    serializer_class = BlockedValueSerializer
    queryset = BlockedValue.objects.select_related("kind")

    def perform_destroy(self, instance):
        services.remove_blocked_value(blocked=instance)


class DryRunView(APIView):
    """What a proposed change of identity rules would do to today's profiles: the events
    are replayed under the proposal in memory and nothing is saved. ``kinds`` holds the
    changed priority / max_per_profile per kind name; ``blocked`` is the whole proposed
    list of blocked values (omit it to keep today's)."""

    required_capability = Cap.MANAGE_IDENTITY_RULES

    @extend_schema(request=DryRunRequestSerializer, responses=DryRunResultSerializer)
    def post(self, request):
        proposal = DryRunRequestSerializer(data=request.data)
        proposal.is_valid(raise_exception=True)
        data = proposal.validated_data
        blocked = data.get("blocked")
        result = dry_run(
            kinds={name: dict(changes) for name, changes in (data.get("kinds") or {}).items()},
            blocked=None if blocked is None else [(b["kind"], b["value"]) for b in blocked],
        )
        return Response(DryRunResultSerializer(result.as_dict()).data)


class ComputedTraitListView(generics.ListCreateAPIView):
    """Computed trait definitions; creating one backfills it for every profile."""

    required_capability = RULES
    serializer_class = ComputedTraitSerializer
    queryset = ComputedTrait.objects.all()

    def perform_create(self, serializer):
        try:
            serializer.instance = services.save_computed_trait(**serializer.validated_data)
        except services.RulesError as error:
            raise _refused(error) from error


class ComputedTraitDetailView(generics.RetrieveUpdateDestroyAPIView):
    """One definition; a change recomputes it for every profile, a delete removes its
    values from every profile."""

    required_capability = RULES
    serializer_class = ComputedTraitSerializer
    queryset = ComputedTrait.objects.all()

    def perform_update(self, serializer):
        try:
            serializer.instance = services.save_computed_trait(
                trait=serializer.instance, **serializer.validated_data
            )
        except services.RulesError as error:
            raise _refused(error) from error

    def perform_destroy(self, instance):
        try:
            services.delete_computed_trait(trait=instance)
        except services.RulesError as error:  # a formula or score reads it
            raise _refused(error) from error


class TraitKeyListView(generics.ListAPIView):
    """Traits seen in the data, with their type and survivorship strategy."""

    required_capability = RULES
    serializer_class = TraitKeySerializer
    queryset = TraitKey.objects.all()


class TraitKeyDetailView(generics.RetrieveUpdateAPIView):
    """One trait; changing its type or strategy chooses every profile's value again."""

    required_capability = RULES
    serializer_class = TraitKeySerializer
    queryset = TraitKey.objects.all()

    def perform_update(self, serializer):
        serializer.instance = services.update_trait_key(
            trait_key=serializer.instance, **serializer.validated_data
        )


class PersonalDataRolesView(APIView):
    """The roles that see personal data in clear and may export it: Admin always, and
    those an admin grants (PUT; audited with before and after)."""

    required_capability = Cap.MANAGE_USERS

    def _body(self) -> dict:
        roles = services.personal_data_roles()
        return PersonalDataRolesSerializer({"roles": roles, "always": [ADMIN]}).data

    @extend_schema(responses=PersonalDataRolesSerializer)
    def get(self, request):
        return Response(self._body())

    @extend_schema(request=PersonalDataRolesSerializer, responses=PersonalDataRolesSerializer)
    def put(self, request):
        given = PersonalDataRolesSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        services.set_personal_data_roles(roles=given.validated_data["roles"])
        return Response(self._body())


class StageRuleListView(generics.ListAPIView):
    required_capability = RULES
    serializer_class = StageRuleSerializer
    queryset = StageRule.objects.all()


class StageRuleDetailView(generics.RetrieveUpdateAPIView):
    required_capability = RULES
    serializer_class = StageRuleSerializer
    queryset = StageRule.objects.all()

    def perform_update(self, serializer):
        try:
            serializer.instance = services.update_stage_rule(
                rule=serializer.instance, **serializer.validated_data
            )
        except services.RulesError as error:
            raise _refused(error) from error
