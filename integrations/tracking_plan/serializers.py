"""JSON input/output for tracking plans. An invalid schema is refused at its field
(``events[i].schema``), with the same checks as the page (schemas.check_schema)."""

from __future__ import annotations

from rest_framework import serializers

from cdp_site.api.fields import StorableJSONField
from integrations.models import Source

from . import services
from .models import Mode, PlanSource, TrackingPlan, Violation
from .schemas import TRAIT_TYPES, SchemaInvalid, check_schema


class PlannedEventSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(allow_blank=True, required=False, default="")
    schema = StorableJSONField(
        required=False,
        default=dict,
        help_text="JSON Schema of the event's properties; properties not listed are "
        "unplanned unless additionalProperties is true or a schema.",
    )

    def validate_name(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("An event needs a name.")
        return value

    def validate_schema(self, value):
        try:
            check_schema(value)
        except SchemaInvalid as exc:
            raise serializers.ValidationError(str(exc)) from None
        return value


class PlanSourceSerializer(serializers.ModelSerializer):
    source = serializers.PrimaryKeyRelatedField(queryset=Source.objects.filter(archived_at=None))
    mode = serializers.ChoiceField(choices=Mode.choices, default=Mode.FLAG)

    class Meta:
        model = PlanSource
        fields = ["source", "mode"]
        validators = []  # a source following another plan moves to this one


class TrackingPlanSerializer(serializers.ModelSerializer):
    events = PlannedEventSerializer(many=True, required=False)
    traits = serializers.DictField(
        child=serializers.ChoiceField(choices=TRAIT_TYPES),
        required=False,
        help_text="Trait name → type, for identify calls (a trait may always be null).",
    )
    sources = PlanSourceSerializer(many=True, required=False, source="links")

    class Meta:
        model = TrackingPlan
        fields = [
            "id",
            "name",
            "description",
            "version",
            "events",
            "traits",
            "sources",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "version", "created_at", "updated_at"]
        extra_kwargs = {"name": {"validators": []}}  # checked trimmed in validate_name

    def validate_name(self, value: str) -> str:
        value = value.strip()
        taken = TrackingPlan.objects.filter(name=value)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if not value or taken.exists():
            raise serializers.ValidationError(
                "A plan has this name already." if value else "The plan needs a name."
            )
        return value

    def validate_traits(self, traits: dict) -> dict:
        try:
            return services.check_traits(traits)
        except services.TraitsInvalid as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate_events(self, events: list[dict]) -> list[dict]:
        names = [event["name"] for event in events]
        if len(names) != len(set(names)):
            raise serializers.ValidationError("Each event may be planned once.")
        return events

    def validate_sources(self, links: list[dict]) -> list[dict]:
        ids = [link["source"].pk for link in links]
        if len(ids) != len(set(ids)):
            raise serializers.ValidationError("Each source may be listed once.")
        return links

    def _changes(self, data: dict) -> dict:
        changes = {k: data[k] for k in ("name", "description", "traits", "events") if k in data}
        if "links" in data:
            changes["sources"] = [(link["source"], link["mode"]) for link in data["links"]]
        return changes

    def create(self, validated_data):
        return services.create_plan(**self._changes(validated_data))

    def update(self, instance, validated_data):
        return services.update_plan(plan=instance, **self._changes(validated_data))


class InferSerializer(serializers.Serializer):
    source = serializers.PrimaryKeyRelatedField(queryset=Source.objects.all())
    name = serializers.CharField(max_length=120)

    def validate_name(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("The plan needs a name.")
        if TrackingPlan.objects.filter(name=value).exists():
            raise serializers.ValidationError("A plan has this name already.")
        return value


class ViolationExampleSerializer(serializers.Serializer):
    message_id = serializers.CharField()
    path = serializers.CharField(help_text="JSON pointer inside the message")
    detail = serializers.CharField()
    at = serializers.CharField()


class ViolationSerializer(serializers.ModelSerializer):
    source = serializers.IntegerField(source="source_id")
    examples = ViolationExampleSerializer(many=True)

    class Meta:
        model = Violation
        fields = [
            "source",
            "message_type",
            "event",
            "kind",
            "count",
            "first_seen",
            "last_seen",
            "examples",
        ]
