from rest_framework import serializers

from cdp_site.api.limits import BIGINT_MAX
from profiles import masking
from segments.models import Membership, MembershipChange, Segment


class SegmentSerializer(serializers.ModelSerializer):
    created_by = serializers.EmailField(source="created_by.email", read_only=True, allow_null=True)

    class Meta:
        model = Segment
        fields = [
            "id",
            "name",
            "description",
            "kind",
            "rule",
            "depends_on",
            "event_names",
            "slides",
            "include_restricted",
            "on_site",
            "member_count",
            "computed_at",
            "compute_ms",
            "compute_error",
            "computing_since",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class SegmentInputSerializer(serializers.Serializer):
    """A rule-based segment (``kind`` "dynamic", the default) needs a rule; an
    uploaded-list segment (``kind`` "static") starts empty: upload its list next."""

    name = serializers.CharField(max_length=120)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    kind = serializers.ChoiceField(
        choices=Segment.Kind.choices, required=False, default=Segment.Kind.DYNAMIC
    )
    rule = serializers.JSONField(
        required=False, help_text="The rule (grammar v1, see the segment builder)."
    )
    include_restricted = serializers.BooleanField(
        required=False,
        default=False,
        help_text="People a privacy request restricted are members too (counted and listed); "
        "no campaign or export acts on them either way. Off by default.",
    )
    on_site = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Flagged for on-site use: a source's personalisation settings may show "
        "visitors their membership (GET /v1/personalize). Off by default.",
    )

    def validate(self, data):
        if data.get("kind", Segment.Kind.DYNAMIC) == Segment.Kind.DYNAMIC and "rule" not in data:
            raise serializers.ValidationError({"rule": ["A rule-based segment needs a rule."]})
        return data


class SegmentUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    rule = serializers.JSONField(required=False)
    include_restricted = serializers.BooleanField(
        required=False,
        help_text="People a privacy request restricted are members too (counted and listed); "
        "no campaign or export acts on them either way. Off by default.",
    )
    on_site = serializers.BooleanField(
        required=False,
        help_text="Flagged for on-site use: a source's personalisation settings may show "
        "visitors their membership (GET /v1/personalize). Off by default.",
    )


class RuleInputSerializer(serializers.Serializer):
    rule = serializers.JSONField()
    segment = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=BIGINT_MAX,
        help_text="The segment being edited: its rule may not come back to it.",
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=20)
    include_restricted = serializers.BooleanField(
        required=False, default=False, help_text="Count people a privacy request restricted."
    )


class CountSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    ms = serializers.IntegerField()


class SampleProfileSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()
    email = serializers.CharField(allow_null=True)
    stage = serializers.CharField()
    last_seen_at = serializers.DateTimeField(allow_null=True)


class PreviewSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    ms = serializers.IntegerField()
    sample = SampleProfileSerializer(many=True)


class MemberSerializer(serializers.ModelSerializer):
    """Name and e-mail masked for whoever may not see personal data (profiles.masking)."""

    name = serializers.CharField(allow_null=True, read_only=True)
    email = serializers.CharField(allow_null=True, read_only=True)
    stage = serializers.CharField(allow_null=True, read_only=True)

    class Meta:
        model = Membership
        fields = ["profile_id", "name", "email", "stage", "entered_at"]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        masker = masking.masker_for_request(self.context["request"])
        data["name"] = masker.name(data["name"]) if data["name"] else data["name"]
        data["email"] = masker.identity("email", data["email"])
        return data


class ChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = MembershipChange
        fields = ["id", "profile_id", "change", "at", "reason", "backfill"]
        read_only_fields = fields


class ListUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A UTF-8 CSV: identifier columns or kind,value.")
    kind = serializers.SlugField(
        required=False, help_text="Every value is of this identifier kind (e.g. email)."
    )
    mode = serializers.ChoiceField(choices=["replace", "add"], required=False, default="replace")


class CreateStaticSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    file = serializers.FileField()
    kind = serializers.SlugField(required=False)


class ProblemSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    value = serializers.CharField()
    error = serializers.CharField()


class UploadResultSerializer(serializers.Serializer):
    rows = serializers.IntegerField()
    matched = serializers.IntegerField()
    not_found = serializers.IntegerField()
    malformed = serializers.IntegerField()
    members = serializers.IntegerField()
    entered = serializers.IntegerField()
    exited = serializers.IntegerField()
    problems = ProblemSerializer(many=True, help_text="The first 1,000, by line.")


class UploadAnswerSerializer(serializers.Serializer):
    segment = SegmentSerializer()
    result = UploadResultSerializer()
