from datetime import datetime

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework import serializers

from profiles import masking, selectors
from profiles.models import ConsentRecord, Identity, Merge, Note, Profile, ProfileEvent


def masker_of(serializer) -> masking.Masker:
    """What the request's user may see of personal data (profiles/masking.py): the
    serializers of a person's traits and identifiers each mask through it."""
    return masking.masker_for_request(serializer.context["request"])


class ProfileSerializer(serializers.ModelSerializer):
    """Personal traits, and a name made of them, masked for whoever may not see them."""

    class Meta:
        model = Profile
        fields = ["id", "display_name", "stage", "first_seen_at", "last_seen_at", "traits"]
        read_only_fields = fields

    def to_representation(self, instance):
        return super().to_representation(masker_of(self).profile(instance))


class IdentitySerializer(serializers.ModelSerializer):
    """A personal kind's value masked for whoever may not see it."""

    kind = serializers.CharField(source="kind.name")
    source_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = Identity
        fields = ["id", "kind", "value", "source_id", "first_seen_at", "last_seen_at"]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["value"] = masker_of(self).identity(instance.kind.name, data["value"])
        return data


class SeenValueSerializer(serializers.Serializer):
    value = serializers.JSONField()
    source = serializers.CharField()
    source_id = serializers.IntegerField(allow_null=True)
    first_seen_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()
    conflict = serializers.BooleanField()


class TraitSerializer(serializers.Serializer):
    """A personal trait's values (current and every other seen) masked for whoever may
    not see them."""

    key = serializers.CharField()
    value = serializers.JSONField()
    source = serializers.CharField()
    source_id = serializers.IntegerField(allow_null=True)
    at = serializers.DateTimeField(allow_null=True)
    others = SeenValueSerializer(many=True)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        masker = masker_of(self)
        data["value"] = masker.trait(instance.key, data["value"])
        for other in data["others"]:
            other["value"] = masker.trait(instance.key, other["value"])
        return data


class ConsentStateSerializer(serializers.Serializer):
    purpose = serializers.CharField()
    label = serializers.CharField()
    status = serializers.CharField(help_text='"granted", "denied", "withdrawn" or "" (none).')
    at = serializers.CharField(allow_null=True)
    source_id = serializers.IntegerField(allow_null=True)


class ComputedValueSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    value = serializers.JSONField()


class ProfileDetailSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="profile.pk")
    display_name = serializers.CharField(source="profile.display_name")
    stage = serializers.CharField(source="profile.stage")
    stage_changed_at = serializers.DateTimeField(source="profile.stage_changed_at")
    first_seen_at = serializers.DateTimeField(source="profile.first_seen_at")
    last_seen_at = serializers.DateTimeField(source="profile.last_seen_at")
    restricted = serializers.BooleanField(
        source="profile.restricted",
        help_text="A privacy request restricted the person: campaigns act on nothing.",
    )
    identities = IdentitySerializer(many=True, source="identity_list")
    traits = TraitSerializer(many=True)
    consent = ConsentStateSerializer(many=True)
    computed = ComputedValueSerializer(many=True)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["display_name"] = masker_of(self).name(data["display_name"])
        return data


class ProfileEventSerializer(serializers.ModelSerializer):
    """Properties named like a personal trait masked for whoever may not see them."""

    id = serializers.IntegerField(source="event_id")
    source = serializers.CharField(source="source.name")

    class Meta:
        model = ProfileEvent
        fields = [
            "id",
            "type",
            "name",
            "timestamp",
            "received_at",
            "source_id",
            "source",
            "identity_id",
            "properties",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["properties"] = masker_of(self).properties(data["properties"])
        return data


class TimelineItemSerializer(serializers.Serializer):
    """Items as masking.Masker.timeline_items left them (the view masks the page)."""

    kind = serializers.CharField()
    id = serializers.IntegerField()
    time = serializers.DateTimeField()
    title = serializers.CharField()
    detail = serializers.CharField()
    source = serializers.CharField()
    source_id = serializers.IntegerField(allow_null=True)
    data = serializers.DictField()


class TimelinePageSerializer(serializers.Serializer):
    next = serializers.CharField(allow_null=True, help_text="URL of the next (older) page.")
    next_cursor = serializers.CharField(allow_null=True)
    results = TimelineItemSerializer(many=True)


class MomentField(serializers.Field):
    """An ISO date or date-time (a date: its midnight, in the site's time zone; a time
    without a zone: in it too)."""

    default_error_messages = {"invalid": "An ISO date or date-time, e.g. 2026-05-01."}

    def to_internal_value(self, data) -> datetime:
        try:
            moment = parse_datetime(str(data))
            if moment is None and (day := parse_date(str(data))) is not None:
                moment = datetime.combine(day, datetime.min.time())
        except ValueError:
            moment = None
        if moment is None:
            self.fail("invalid")
        return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


class TimelineQuerySerializer(serializers.Serializer):
    """The timeline's query parameters (the API view lists them for the schema); each bad
    one is a 400 naming it. The timeline is no queryset, so no FilterSet reads it."""

    cursor = serializers.CharField(required=False, allow_blank=True)
    limit = serializers.IntegerField(required=False, default=50)
    kind = serializers.ListField(child=serializers.CharField(), required=False)
    source = serializers.ListField(child=serializers.IntegerField(), required=False)
    type = serializers.ListField(child=serializers.CharField(), required=False)
    since = MomentField(required=False)
    until = MomentField(required=False)

    def validate_cursor(self, cursor: str) -> str | None:
        if cursor and selectors.decode_cursor(cursor) is None:
            raise serializers.ValidationError("Invalid cursor.")
        return cursor or None

    def validate_limit(self, limit: int) -> int:
        return min(max(limit, 1), 500)

    def validate_kind(self, kinds: list[str]) -> list[str]:
        unknown = set(kinds) - set(selectors.timeline_kinds())
        if unknown:  # checked here: other apps register kinds after this class is made
            raise serializers.ValidationError(f"Unknown kinds: {sorted(unknown)}.")
        return kinds

    def selection(self) -> dict:
        """Keyword arguments for selectors.timeline."""
        data = self.validated_data
        return {
            "before": data.get("cursor"),
            "kinds": data.get("kind") or None,
            "source_ids": data.get("source") or None,
            "event_types": data.get("type") or None,
            "since": data.get("since"),
            "until": data.get("until"),
            "limit": data["limit"],
        }


class NoteSerializer(serializers.ModelSerializer):
    author = serializers.EmailField(source="author.email", read_only=True, allow_null=True)

    class Meta:
        model = Note
        fields = ["id", "body", "author", "created_at"]
        read_only_fields = ["id", "author", "created_at"]


class ConsentInputSerializer(serializers.Serializer):
    purpose = serializers.SlugField(help_text="A consent purpose slug, e.g. marketing.")
    status = serializers.ChoiceField(choices=ConsentRecord.Status.choices)
    evidence = serializers.DictField(required=False, default=dict)


class ConsentRecordSerializer(serializers.ModelSerializer):
    purpose = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = ConsentRecord
        fields = ["id", "purpose", "status", "source_id", "recorded_at", "evidence", "event_id"]
        read_only_fields = fields


class ConsentSerializer(serializers.Serializer):
    current = ConsentStateSerializer(many=True)
    records = ConsentRecordSerializer(many=True)


class MergeSerializer(serializers.ModelSerializer):
    actor = serializers.EmailField(source="actor.email", read_only=True, allow_null=True)
    undone_by = serializers.EmailField(source="undone_by.email", read_only=True, allow_null=True)

    class Meta:
        model = Merge
        fields = [
            "id",
            "survivor_id",
            "merged_id",
            "reason",
            "identity_id",
            "event_id",
            "actor",
            "identity_ids",
            "created_at",
            "undone_at",
            "undone_by",
        ]
        read_only_fields = fields


class MergeInputSerializer(serializers.Serializer):
    survivor_id = serializers.IntegerField()
    merged_id = serializers.IntegerField()
