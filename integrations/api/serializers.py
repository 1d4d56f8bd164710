from rest_framework import serializers

from integrations import services
from integrations.models import Event, RejectedEvent, Source


class SourceSerializer(serializers.ModelSerializer):
    trust = serializers.ChoiceField(
        choices=Source.Trust.choices,
        required=False,
        help_text="client: the write key ships in pages or apps (websites and apps default "
        "to it); server: a secret kept on servers.",
    )
    ip_rate_limit = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=2_147_483_647,
        help_text="Messages a second from one address; 0: no limit. Default: 50 for client "
        "sources, none for server sources (their per-source limit holds).",
    )

    class Meta:
        model = Source
        read_only_fields = [
            "id",
            "write_key",
            "previous_key_valid_until",
            "created_at",
            "updated_at",
            "archived_at",
        ]
        fields = [read_only_fields[0], *services.UPDATABLE, *read_only_fields[1:]]

    def create(self, validated_data):
        return services.create_source(**validated_data)

    def update(self, instance, validated_data):
        return services.update_source(source=instance, **validated_data)


class RotateKeySerializer(serializers.Serializer):
    grace_hours = serializers.IntegerField(min_value=0, max_value=24 * 30, default=24)


class EventSerializer(serializers.ModelSerializer):
    source = serializers.IntegerField(source="source_id")

    class Meta:
        model = Event
        fields = [
            "id",
            "source",
            "type",
            "event",
            "user_id",
            "anonymous_id",
            "message_id",
            "timestamp",
            "original_timestamp",
            "sent_at",
            "received_at",
            "payload",
        ]
        read_only_fields = fields


class RejectedEventSerializer(serializers.ModelSerializer):
    source = serializers.IntegerField(source="source_id")

    class Meta:
        model = RejectedEvent
        fields = ["id", "source", "code", "reason", "payload", "received_at"]
        read_only_fields = fields


class VerificationSecretSerializer(serializers.Serializer):
    verification_secret = serializers.CharField(
        help_text="HMAC-SHA256 key for identity verification; keep it on your servers."
    )
