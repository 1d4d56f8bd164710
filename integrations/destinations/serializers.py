"""JSON input/output for destinations. ``secrets`` is write-only (a blank value keeps the
stored one); responses carry ``secret_status`` ("set, ends in abcd" / "set" / "")."""

from rest_framework import serializers

from cdp_site.api.fields import StorableJSONField

from . import services, validation
from .kinds import KINDS
from .models import DeadLetter, Destination


class DestinationSerializer(serializers.ModelSerializer):
    config = StorableJSONField(required=False)
    secrets = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=2000),
        write_only=True,
        required=False,
    )
    secret_status = serializers.SerializerMethodField()

    class Meta:
        model = Destination
        fields = [
            "id",
            "name",
            "kind",
            "enabled",
            "config",
            "secrets",
            "secret_status",
            "last_test_at",
            "last_test_ok",
            "last_test_message",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "last_test_at",
            "last_test_ok",
            "last_test_message",
            "created_at",
            "updated_at",
        ]

    def get_secret_status(self, destination) -> dict[str, str]:
        return services.secret_hints(destination=destination)

    def validate(self, attrs):
        kind = self.instance.kind if self.instance else attrs.get("kind")
        if self.instance and "kind" in attrs and attrs["kind"] != self.instance.kind:
            raise serializers.ValidationError({"kind": ["The kind cannot change."]})
        if kind not in KINDS:
            raise serializers.ValidationError({"kind": ["This field is required."]})
        errors = {}
        if "config" in attrs or not self.instance:
            if not isinstance(attrs.get("config") or {}, dict):
                raise serializers.ValidationError({"config": ["Expected an object."]})
            errors.update(_config_errors(kind, attrs.get("config") or {}))
        errors.update(self._secret_errors(kind, attrs, checked_config=not errors))
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def _secret_errors(self, kind: str, attrs, *, checked_config: bool) -> dict:
        spec = KINDS[kind]
        secrets = attrs.get("secrets") or {}
        errors = {
            f"secrets.{name}": [f"Unknown secret for {kind}."]
            for name in secrets
            if name not in {f.name for f in spec.secrets}
        }
        if self.instance and "config" in attrs and checked_config:
            moved = validation.secret_problems(
                self.instance, config=attrs["config"] or {}, secrets=secrets
            )
            errors.update({f"secrets.{name}": [message] for name, message in moved.items()})
        stored = services.secret_hints(destination=self.instance) if self.instance else {}
        for field in spec.secrets:
            if field.required and not secrets.get(field.name) and not stored.get(field.name):
                errors.setdefault(f"secrets.{field.name}", ["This field is required."])
        return errors

    def create(self, validated_data):
        return services.create_destination(**validated_data)

    def update(self, instance, validated_data):
        validated_data.pop("kind", None)
        return services.update_destination(destination=instance, **validated_data)


def _config_errors(kind: str, config: dict) -> dict[str, list[str]]:
    errors = {}
    for field in KINDS[kind].config:
        value = config.get(field.name)
        if field.required and field.default is None and value in (None, ""):
            errors[f"config.{field.name}"] = ["This field is required."]
        elif field.type == "int" and value not in (None, ""):
            try:
                int(value)
            except (TypeError, ValueError):
                errors[f"config.{field.name}"] = ["A whole number is required."]
        elif field.type == "url" and value and not str(value).startswith(("http://", "https://")):
            errors[f"config.{field.name}"] = ["An http(s) URL is required."]
    for name, message in validation.config_problems(kind, config).items():
        errors.setdefault(f"config.{name}", [message])
    return errors


class ConnectionTestSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    message = serializers.CharField()


class DeadLetterSerializer(serializers.ModelSerializer):
    destination = serializers.IntegerField(source="destination_id", read_only=True)

    class Meta:
        model = DeadLetter
        fields = [
            "id",
            "destination",
            "payload",
            "idempotency_key",
            "error",
            "attempts",
            "created_at",
            "replayed_at",
        ]
        read_only_fields = fields


class ReplaySerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    message = serializers.CharField()
    dead_letter = DeadLetterSerializer()
