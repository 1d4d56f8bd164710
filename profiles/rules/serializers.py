"""JSON input and output of the rules API. They validate like the forms, then the views
call profiles.rules.services."""

from __future__ import annotations

from rest_framework import serializers

from cdp_site.api.limits import DAYS_MAX, INTEGER_MAX, SMALLINT_MAX
from cdp_site.permissions import ADMIN, ROLES

from ..computed import definitions, formulas
from ..computed import filters as event_filters
from ..models import BlockedValue, ComputedTrait, IdentifierKind, StageRule, TraitKey

PERSONAL_HELP = (
    "Personal data: shown masked to roles not granted to see it (profiles/masking.py); "
    "changes are audited."
)


class IdentifierKindSerializer(serializers.ModelSerializer):
    trait_keys = serializers.ListField(
        child=serializers.CharField(max_length=80), required=False, default=list
    )

    class Meta:
        model = IdentifierKind
        fields = [
            "id",
            "name",
            "label",
            "priority",
            "max_per_profile",
            "normalizer",
            "trait_keys",
            "builtin",
            "personal",
        ]
        read_only_fields = ["builtin"]
        extra_kwargs = {"personal": {"help_text": PERSONAL_HELP}}

    def validate_name(self, value):
        if self.instance is not None and value != self.instance.name:
            raise serializers.ValidationError("The name of a kind cannot change.")
        return value.strip().lower()

    def validate_max_per_profile(self, value):
        if value is not None and value < 1:
            raise serializers.ValidationError("A limit must be at least 1 (null for none).")
        return value

    def validate_normalizer(self, value):
        if (
            self.instance is not None
            and self.instance.builtin
            and value != self.instance.normalizer
        ):
            raise serializers.ValidationError("The normaliser of a built-in kind cannot change.")
        return value


class BlockedValueSerializer(serializers.ModelSerializer):
    kind = serializers.SlugRelatedField(
        slug_field="name", queryset=IdentifierKind.objects.all(), allow_null=True, required=False
    )

    class Meta:
        model = BlockedValue
        fields = ["id", "kind", "value"]

    def validate_value(self, value):
        value = value.strip()
        if not value:
            raise serializers.ValidationError("A blocked value cannot be empty.")
        return value

    def validate(self, attrs):
        kind = attrs.get("kind", getattr(self.instance, "kind", None))
        value = attrs.get("value", getattr(self.instance, "value", ""))
        same = BlockedValue.objects.filter(kind=kind, value__iexact=value)
        if self.instance is not None:
            same = same.exclude(pk=self.instance.pk)
        if same.exists():
            raise serializers.ValidationError({"value": ["This value is blocked already."]})
        return attrs


class KindProposalSerializer(serializers.Serializer):
    priority = serializers.IntegerField(min_value=0, max_value=SMALLINT_MAX, required=False)
    max_per_profile = serializers.IntegerField(
        min_value=1, max_value=INTEGER_MAX, allow_null=True, required=False
    )


class BlockedProposalSerializer(serializers.Serializer):
    kind = serializers.CharField(allow_null=True, required=False, default=None)
    value = serializers.CharField(max_length=200, allow_blank=True, trim_whitespace=False)


class DryRunRequestSerializer(serializers.Serializer):
    """A proposal: changed rules per kind name, and/or the whole proposed blocked list."""

    kinds = serializers.DictField(child=KindProposalSerializer(), required=False, allow_null=True)
    # Built by hand, not with many=True: DRF passes allow_null on to the child as well, and
    # a null item would reach the dry run (a TypeError there, a 500 here).
    blocked = serializers.ListSerializer(
        child=BlockedProposalSerializer(), required=False, allow_null=True
    )

    def validate_kinds(self, value):
        if value:
            known = set(IdentifierKind.objects.values_list("name", flat=True))
            unknown = sorted(set(value) - known)
            if unknown:
                raise serializers.ValidationError(f"Unknown kinds: {', '.join(unknown)}.")
        return value

    def validate_blocked(self, value):
        if value:
            known = set(IdentifierKind.objects.values_list("name", flat=True))
            unknown = sorted({b["kind"] for b in value if b["kind"]} - known)
            if unknown:
                raise serializers.ValidationError(f"Unknown kinds: {', '.join(unknown)}.")
        return value


class DryRunResultSerializer(serializers.Serializer):
    profiles_before = serializers.IntegerField()
    profiles_after = serializers.IntegerField()
    merging = serializers.IntegerField(help_text="Today's profiles that would merge with another.")
    splitting = serializers.IntegerField(help_text="Today's profiles that would split.")
    events_scanned = serializers.IntegerField()


class EventFilterSerializer(serializers.Serializer):
    property = serializers.CharField(max_length=200)
    op = serializers.ChoiceField(choices=list(event_filters.OPS))
    value = serializers.CharField(max_length=event_filters.MAX_VALUE)


class ComputedTraitSerializer(serializers.ModelSerializer):
    filters = EventFilterSerializer(
        many=True,
        required=False,
        max_length=event_filters.MAX_FILTERS,
        help_text="Only the events whose property compares so with the value: equals, "
        "not_equals and contains compare text, gt and lt numbers.",
    )

    class Meta:
        model = ComputedTrait
        fields = [
            "id",
            "key",
            "label",
            "event_name",
            "aggregation",
            "property",
            "window_days",
            "filters",
            "formula",
            "score_of",
            "higher_is_better",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {
            "window_days": {"max_value": DAYS_MAX},
            "event_name": {"required": False},
            "formula": {"max_length": formulas.MAX_LENGTH},
        }

    def validate_window_days(self, value):
        if value is not None and value < 1:
            raise serializers.ValidationError("A window is at least 1 day (null for all time).")
        return value

    def validate(self, attrs):
        fields = ("key", "event_name", "aggregation", "property", "window_days", "filters",
                  "formula", "score_of", "higher_is_better")  # fmt: skip
        current = {f: getattr(self.instance, f) for f in fields} if self.instance else {}
        try:
            checked = definitions.check(
                {**current, **attrs}, pk=self.instance.pk if self.instance else None
            )
        except definitions.DefinitionError as error:
            raise serializers.ValidationError({error.field: [error.message]}) from None
        return {**attrs, **{f: checked[f] for f in checked if f in fields}}


class TraitKeySerializer(serializers.ModelSerializer):
    class Meta:
        model = TraitKey
        fields = ["id", "key", "type", "strategy", "example", "first_seen_at", "personal"]
        read_only_fields = ["key", "example", "first_seen_at"]
        extra_kwargs = {"personal": {"help_text": PERSONAL_HELP}}


class PersonalDataRolesSerializer(serializers.Serializer):
    roles = serializers.ListField(
        child=serializers.ChoiceField(choices=[r for r in ROLES if r != ADMIN]),
        help_text="The roles besides Admin that see personal data in clear and may export it.",
    )
    always = serializers.ListField(child=serializers.CharField(), read_only=True)


class StageRuleSerializer(serializers.ModelSerializer):
    event_names = serializers.ListField(child=serializers.CharField(max_length=200), required=False)
    min_count = serializers.IntegerField(min_value=1, max_value=INTEGER_MAX, required=False)
    min_days = serializers.IntegerField(min_value=1, max_value=DAYS_MAX, required=False)
    quiet_days = serializers.IntegerField(
        min_value=1, max_value=DAYS_MAX, allow_null=True, required=False
    )

    class Meta:
        model = StageRule
        fields = ["id", "stage", "event_names", "min_count", "min_days", "quiet_days"]
        read_only_fields = ["stage"]

    def validate(self, attrs):
        stage = self.instance.stage if self.instance else None
        if stage == "lapsed":
            if not attrs.get("quiet_days", self.instance.quiet_days):
                raise serializers.ValidationError(
                    {"quiet_days": ["The lapsed rule needs a number of quiet days."]}
                )
        elif "event_names" in attrs:
            names = [n.strip() for n in attrs["event_names"] if n.strip()]
            if not names:
                raise serializers.ValidationError({"event_names": ["Name at least one event."]})
            attrs["event_names"] = names
        return attrs
