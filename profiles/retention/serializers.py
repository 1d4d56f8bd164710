"""JSON of retention's API: rules, settings, runs and the preview."""

from __future__ import annotations

from rest_framework import serializers

from integrations.models import Source

from ..models import RetentionPolicy, RetentionRun, RetentionSettings


class RetentionPolicySerializer(serializers.ModelSerializer):
    source = serializers.PrimaryKeyRelatedField(
        queryset=Source.objects.all(),
        allow_null=True,
        required=False,
        default=None,
        help_text="A source's id; null: every source.",
    )

    class Meta:
        model = RetentionPolicy
        fields = ["id", "source", "event_name", "keep_months", "note", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        # The service checks the scope (and says which field); not the serializer's
        # unique-together check, which names no field.
        validators = []


class RetentionSettingsSerializer(serializers.ModelSerializer):
    class Meta:
        model = RetentionSettings
        fields = ["default_months", "inactive_years", "inactive_action", "updated_at"]
        read_only_fields = ["updated_at"]


class RetentionRunSerializer(serializers.ModelSerializer):
    started_by = serializers.SlugRelatedField(slug_field="email", read_only=True)

    class Meta:
        model = RetentionRun
        fields = [
            "id",
            "started_at",
            "finished_at",
            "dry_run",
            "started_by",
            "removed",
            "partitions_dropped",
            "errors",
            "seconds",
        ]
        read_only_fields = fields


class StartRetentionRunSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(default=False)


def plan_json(plan) -> dict:
    """The preview (selectors.plan) as JSON."""
    return {
        "now": plan.now,
        "partitions": [
            {**p, "rows_estimated": p.pop("rows")} for p in (dict(p) for p in plan.partitions)
        ],
        "by_source": plan.by_source,
        "default_partition_rows": plan.default_rows,
        "events": [
            {
                "name": n["name"],
                "rows": n["rows"],
                "at_least": n["capped"],
                "before": n["before"],
                "before_by_source": {str(s): t for s, t in n["special"].items()},
            }
            for n in plan.names
        ],
        "inactive_profiles": plan.profiles,
        "operational": plan.operational,
    }
