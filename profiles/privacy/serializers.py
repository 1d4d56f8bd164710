from rest_framework import serializers

from ..models import PrivacyRequest, PropagationJob
from . import selectors

MAX_VALUE = PrivacyRequest._meta.get_field("identifier_value").max_length


class PrivacyRequestInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=PrivacyRequest.Kind.choices)
    identifier_kind = serializers.CharField(
        max_length=40, help_text="An identifier kind's name (email, phone, user_id…) or profile_id."
    )
    identifier_value = serializers.CharField(max_length=MAX_VALUE)
    verification = serializers.ChoiceField(choices=PrivacyRequest.Verification.choices)
    verification_note = serializers.CharField(
        max_length=1000, required=False, allow_blank=True, default=""
    )

    def validate_identifier_kind(self, value: str) -> str:
        known = {name for name, _ in selectors.identifier_kinds()}
        if value not in known:
            raise serializers.ValidationError(f"Not one of: {', '.join(sorted(known))}.")
        return value


class PropagationJobSerializer(serializers.ModelSerializer):
    handled_by = serializers.SlugRelatedField(slug_field="email", read_only=True)

    class Meta:
        model = PropagationJob
        fields = [
            "id",
            "destination",
            "destination_name",
            "destination_kind",
            "action",
            "status",
            "attempts",
            "last_attempt_at",
            "next_attempt_at",
            "last_error",
            "outcome",
            "handled_by",
            "handled_at",
            "note",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


class HandledSerializer(serializers.Serializer):
    note = serializers.CharField(
        max_length=1000, help_text="What was done at the destination (kept as the proof)."
    )


class PrivacyRequestSerializer(serializers.ModelSerializer):
    identifier_value = serializers.SerializerMethodField(
        help_text="As normalised; null once the request completed (only its hash is kept)."
    )
    requested_by = serializers.SlugRelatedField(slug_field="email", read_only=True)
    due_in_words = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField(
        help_text="The export's signed link (expires), when an access request has one."
    )
    propagation_jobs = PropagationJobSerializer(
        many=True,
        read_only=True,
        help_text="An erasure's jobs at the destinations that received the person; the "
        "request is completed once each succeeded or was handled by hand.",
    )

    class Meta:
        model = PrivacyRequest
        fields = [
            "id",
            "kind",
            "identifier_kind",
            "identifier_value",
            "identifier_hash",
            "requested_by",
            "requested_at",
            "verification",
            "verification_note",
            "due_at",
            "due_in_words",
            "status",
            "profile_ids",
            "counts",
            "error",
            "started_at",
            "completed_at",
            "download_url",
            "propagation_jobs",
        ]
        read_only_fields = fields

    def get_identifier_value(self, obj) -> str | None:
        return obj.identifier_value or None

    def get_due_in_words(self, obj) -> str:
        return obj.due_in_words()

    def get_download_url(self, obj) -> str | None:
        return self.context["download_url"](obj)


class RunSerializer(serializers.Serializer):
    confirm = serializers.BooleanField(
        default=False, help_text="Required (true) to run an erasure or a restriction."
    )
