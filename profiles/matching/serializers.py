"""JSON of the matching API. Input serializers check the shape; services.update_settings
and the other services check the meaning (MatchingError, a 400 at its field)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import MatchCandidate, MatchModel, MatchRun, MatchSettings
from . import fields, services
from .selectors import level_weights


class SettingsSerializer(serializers.ModelSerializer):
    mapping = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField(max_length=200)),
        required=False,
        help_text="{standard field: [trait paths tried in order]}; the fields are "
        + ", ".join(fields.FIELD_NAMES)
        + ". Empty: the default.",
    )
    comparisons = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        help_text='One per field: {"field", "method", "thresholds"}. Empty: the default.',
    )
    blocking = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField(max_length=40)),
        required=False,
        help_text="Each rule a list of fields that must be equal. Empty: the default.",
    )
    vetoes = serializers.ListField(child=serializers.CharField(max_length=40), required=False)
    model_stale = serializers.SerializerMethodField()

    class Meta:
        model = MatchSettings
        fields = [*services.SETTING_FIELDS, "model_stale", "updated_at"]
        read_only_fields = ["updated_at"]

    def get_model_stale(self, obj) -> bool:
        """True when the latest model was trained on other fields, comparisons or
        blocking than these: passes are refused until it is retrained."""
        return bool(self.context.get("stale"))


class LevelWeightSerializer(serializers.Serializer):
    comparison = serializers.CharField()
    level = serializers.CharField()
    m = serializers.FloatField(allow_null=True)
    u = serializers.FloatField(allow_null=True)
    weight = serializers.FloatField(allow_null=True, help_text="log2(m / u)")


class MatchModelSerializer(serializers.ModelSerializer):
    trained_by = serializers.EmailField(source="trained_by.email", default=None, read_only=True)

    class Meta:
        model = MatchModel
        fields = ["id", "trained_at", "trained_by", "profiles_used", "seconds", "signature"]
        read_only_fields = fields


class MatchModelDetailSerializer(MatchModelSerializer):
    definition = serializers.JSONField(read_only=True)
    weights = serializers.SerializerMethodField()

    class Meta(MatchModelSerializer.Meta):
        fields = [*MatchModelSerializer.Meta.fields, "definition", "weights"]
        read_only_fields = fields

    @extend_schema_field(LevelWeightSerializer(many=True))
    def get_weights(self, obj) -> list[dict]:
        return LevelWeightSerializer(level_weights(obj.splink), many=True).data


class TrainingSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["none", "queued", "running", "done", "failed"])
    model = serializers.IntegerField(required=False, help_text="The model trained, when done.")
    field = serializers.CharField(required=False)
    reason = serializers.CharField(required=False)
    at = serializers.DateTimeField(required=False)


class MatchRunSerializer(serializers.ModelSerializer):
    started_by = serializers.EmailField(source="started_by.email", default=None, read_only=True)

    class Meta:
        model = MatchRun
        fields = [
            "id",
            "kind",
            "status",
            "model",
            "auto_merge_threshold",
            "review_threshold",
            "profiles",
            "pairs",
            "merged",
            "queued",
            "phase",
            "done",
            "total",
            "held",
            "capped",
            "samples",
            "error",
            "started_at",
            "finished_at",
            "started_by",
        ]
        read_only_fields = fields


class StartRunSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=MatchRun.Kind.choices)


class StepSerializer(serializers.Serializer):
    comparison = serializers.CharField()
    level = serializers.CharField()
    weight = serializers.FloatField()


class ExplanationSerializer(serializers.Serializer):
    prior = serializers.FloatField(help_text="The prior's match weight.")
    steps = StepSerializer(many=True)
    weight = serializers.FloatField(help_text="The match weight: the prior plus the steps.")
    probability = serializers.FloatField()


class CandidateSerializer(serializers.ModelSerializer):
    profiles = serializers.SerializerMethodField()
    explanation = serializers.SerializerMethodField()

    class Meta:
        model = MatchCandidate
        fields = [
            "id",
            "profiles",
            "probability",
            "weight",
            "model",
            "held_by",
            "explanation",
            "status",
            "found_at",
            "decided_at",
        ]
        read_only_fields = fields

    def get_profiles(self, obj) -> list[int]:
        return [obj.low_id, obj.high_id]

    @extend_schema_field(ExplanationSerializer(allow_null=True))
    def get_explanation(self, obj) -> dict | None:
        explained = services.explanation(obj)
        return ExplanationSerializer(explained).data if explained else None


class ExplainQuerySerializer(serializers.Serializer):
    left = serializers.IntegerField(min_value=1)
    right = serializers.IntegerField(min_value=1)
