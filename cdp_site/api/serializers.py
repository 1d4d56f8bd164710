from rest_framework import serializers

from cdp_site.models import ApiToken, AuditEntry


class ApiTokenSerializer(serializers.ModelSerializer):
    active = serializers.BooleanField(source="is_active", read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "created_at",
            "last_used_at",
            "expires_at",
            "revoked_at",
            "active",
        ]
        read_only_fields = fields


class ApiTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    expires_in_days = serializers.IntegerField(
        min_value=1,
        max_value=3650,
        required=False,
        allow_null=True,
        help_text="Days until the token stops working; omit (or null) for a token that "
        "works until revoked.",
    )


class NewApiTokenSerializer(ApiTokenSerializer):
    token = serializers.SerializerMethodField(help_text="The token itself: shown this once.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields

    def get_token(self, obj) -> str:
        return self.context["plaintext"]


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    role = serializers.CharField(allow_null=True)
    capabilities = serializers.ListField(child=serializers.CharField())


class AuditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "at",
            "actor_id",
            "actor_role",
            "action",
            "target_type",
            "target_id",
            "address",
            "details",
        ]
        read_only_fields = fields
