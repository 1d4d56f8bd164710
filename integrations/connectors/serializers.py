"""JSON input/output for pull connections, their runs and the kinds installed.

``secrets`` is write-only (a blank value keeps the stored one); answers carry
``secret_status`` ({"token": "set" | "not set"}). ``streams`` maps a stream's name to
{"enabled", "rules" (mapping text, webhook grammar), "primary_key", "updated_at",
"message_kind"}; it replaces the whole set (a stream left out is not read). Errors are the
services' {field: reason}, e.g. {"config.path": ["Required."]}.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from rest_framework import serializers

from cdp_site.api.errors import Conflict
from cdp_site.api.fields import StorableJSONField
from integrations.models import Source
from integrations.services import SourceArchived, update_source
from integrations.webhooks.mapping import rules_text

from . import selectors, services
from .base import MESSAGE_KINDS, Field
from .models import SyncRun

MAX_INT = 2_147_483_647
UPDATED = ("base_url", "config", "streams", "schedule_minutes", "request_budget")


class RulesField(serializers.CharField):
    """Mapping text in, mapping text out (stored as parsed rules)."""

    def to_representation(self, value):
        return rules_text(value) if isinstance(value, list) else str(value)


class ConnectionStreamSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(default=True)
    rules = RulesField(
        required=False,
        allow_blank=True,
        max_length=20_000,
        help_text="One 'target = $.json.path' a line; blank or absent: the kind's default.",
    )
    primary_key = serializers.CharField(required=False, allow_blank=True, max_length=200)
    updated_at = serializers.CharField(required=False, allow_blank=True, max_length=200)
    message_kind = serializers.ChoiceField(
        choices=["", *MESSAGE_KINDS], required=False, allow_blank=True
    )


def _config_value(field: Field, value):
    """The value as the kind's field type wants it; ValueError with the reason."""
    if value in (None, ""):
        return value
    if field.type == "int":
        if isinstance(value, bool) or not str(value).lstrip("-").isdigit():
            raise ValueError("A whole number is required.")
        if abs(int(value)) > MAX_INT:
            raise ValueError("Too large.")
        return int(value)
    if field.type == "bool":
        if not isinstance(value, bool):
            raise ValueError("true or false.")
        return value
    if not isinstance(value, str):
        raise ValueError("A text value is required.")
    if field.type == "choice" and value not in {key for key, _ in field.choices}:
        raise ValueError(f"One of {', '.join(key for key, _ in field.choices)}.")
    return value


class ConnectionSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="source.name", max_length=120)
    kind = serializers.CharField(
        max_length=40,
        required=False,
        help_text="A key of GET /api/v1/connector-kinds; fixed once created.",
    )
    source = serializers.IntegerField(source="source_id", read_only=True)
    base_url = serializers.URLField(
        max_length=500,
        required=False,
        allow_blank=True,
        help_text="Blank: the kind's default. Changing it forgets the stored secrets.",
    )
    config = StorableJSONField(required=False, help_text="The kind's settings, by name.")
    secrets = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=4000),
        write_only=True,
        required=False,
    )
    secret_status = serializers.SerializerMethodField()
    streams = serializers.DictField(child=ConnectionStreamSerializer(), required=False)
    schedule_minutes = serializers.IntegerField(
        min_value=0, max_value=525_600, default=60, help_text="0: only when asked."
    )
    paused = serializers.BooleanField(read_only=True)
    party = serializers.ChoiceField(
        source="source.party", choices=Source.Party.choices, default=Source.Party.FIRST
    )
    priority = serializers.IntegerField(
        source="source.priority", min_value=-MAX_INT, max_value=MAX_INT, default=100
    )
    history_days = serializers.IntegerField(
        write_only=True,
        min_value=0,
        max_value=3650,
        default=0,
        help_text="On creation: records changed within this many days before it still "
        "start journeys and campaigns.",
    )
    trigger_after = serializers.DateTimeField(read_only=True)
    request_budget = serializers.IntegerField(min_value=0, max_value=1_000_000, default=0)
    next_run_at = serializers.DateTimeField(read_only=True)
    active_run = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def get_secret_status(self, connection) -> dict[str, str]:
        return selectors.secret_status(connection=connection)

    def get_active_run(self, connection) -> int | None:
        run = selectors.active_run(connection=connection)
        return run.id if run else None

    def validate(self, attrs):
        kind_key = self.instance.kind if self.instance else attrs.get("kind")
        if self.instance and attrs.get("kind", kind_key) != kind_key:
            raise serializers.ValidationError({"kind": ["The kind cannot change."]})
        if self.instance and "history_days" in self.initial_data:
            raise serializers.ValidationError({"history_days": ["Set on creation only."]})
        if not kind_key:
            raise serializers.ValidationError({"kind": ["This field is required."]})
        kind = selectors.kind_or_none(kind_key)
        if kind is None:
            raise serializers.ValidationError({"kind": ["No such connector is installed."]})
        for spec in (attrs.get("streams") or {}).values():
            if not spec.get("rules"):  # blank: the kind's default mapping
                spec.pop("rules", None)
        config = attrs.get("config")
        if config is not None:
            attrs["config"] = self._checked_config(kind, config)
        return attrs

    @staticmethod
    def _checked_config(kind, config) -> dict:
        if not isinstance(config, dict):
            raise serializers.ValidationError({"config": ["Expected an object."]})
        fields, errors, checked = {f.name: f for f in kind.config}, {}, {}
        for name, value in config.items():
            try:
                checked[name] = _config_value(fields[name], value) if name in fields else value
            except ValueError as exc:
                errors[f"config.{name}"] = [str(exc)]
        if errors:
            raise serializers.ValidationError(errors)
        return {k: v for k, v in checked.items() if v not in (None, "")}

    def create(self, validated_data):
        source = validated_data.pop("source", {})
        try:
            return services.create_connection(
                name=source["name"],
                kind=validated_data["kind"],
                base_url=validated_data.get("base_url", ""),
                config=validated_data.get("config") or {},
                secrets=validated_data.get("secrets") or {},
                streams=validated_data.get("streams"),
                schedule_minutes=validated_data["schedule_minutes"],
                party=source.get("party", Source.Party.FIRST),
                priority=source.get("priority", 100),
                trigger_window=timedelta(days=validated_data["history_days"]),
                request_budget=validated_data["request_budget"],
            )
        except services.ConnectionInvalid as exc:
            raise _invalid(exc) from None

    def update(self, instance, validated_data):
        # A PUT fills defaults for what it left out: only what was sent changes.
        source = {
            k: v for k, v in validated_data.pop("source", {}).items() if k in self.initial_data
        }
        changes = {k: validated_data[k] for k in UPDATED if k in self.initial_data}
        if "base_url" in changes and not changes["base_url"]:
            changes["base_url"] = instance.base_url
        try:
            with transaction.atomic():
                if instance.source.archived:  # as its source, unchanged until restored
                    raise SourceArchived(instance.source)
                if source:
                    update_source(source=instance.source, **source)
                services.update_connection(connection=instance, **changes)
                if validated_data.get("secrets"):
                    services.set_secrets(connection=instance, secrets=validated_data["secrets"])
        except services.ConnectionInvalid as exc:
            raise _invalid(exc) from None
        except SourceArchived as exc:
            raise Conflict(str(exc), code="source_archived") from None
        return instance


def _invalid(exc: services.ConnectionInvalid) -> serializers.ValidationError:
    return serializers.ValidationError({key: [reason] for key, reason in exc.errors.items()})


class SyncRunSerializer(serializers.ModelSerializer):
    connection = serializers.IntegerField(source="connection_id", read_only=True)
    current_stream = serializers.CharField(read_only=True, allow_null=True)
    rate = serializers.SerializerMethodField(help_text="Records read a second, once known.")
    eta_seconds = serializers.SerializerMethodField(
        help_text="Seconds until the current stream is read, at the rate so far; null when "
        "its connector does not say how many records remain (``remaining``)."
    )

    class Meta:
        model = SyncRun
        fields = [
            "id",
            "connection",
            "status",
            "trigger",
            "streams",
            "current_stream",
            "pages",
            "requests",
            "records_read",
            "stored",
            "duplicates",
            "rejected",
            "rate",
            "remaining",
            "eta_seconds",
            "waiting_until",
            "note",
            "error",
            "cancel_requested",
            "created_at",
            "started_at",
            "last_slice_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_rate(self, run) -> float | None:
        return selectors.progress(run=run).rate

    def get_eta_seconds(self, run) -> float | None:
        return selectors.progress(run=run).eta


class SyncRunRejectedRecordSerializer(serializers.Serializer):
    stream = serializers.CharField()
    reason = serializers.CharField()
    record = serializers.CharField(help_text="The record as JSON text, cut at 2,000 characters.")


class SyncRunDetailSerializer(SyncRunSerializer):
    errors = SyncRunRejectedRecordSerializer(many=True, read_only=True)

    class Meta(SyncRunSerializer.Meta):
        fields = [*SyncRunSerializer.Meta.fields, "errors"]
        read_only_fields = fields


class StartSyncRunSerializer(serializers.Serializer):
    full = serializers.BooleanField(
        default=False, help_text="A full re-sync: the cursors are forgotten first."
    )


class ConnectionCheckSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    message = serializers.CharField()
    code = serializers.CharField(help_text="auth, permission, unreachable, tls, answer, config…")


class StreamPreviewRequestSerializer(serializers.Serializer):
    stream = serializers.CharField(max_length=60)
    rules = serializers.CharField(
        required=False, max_length=20_000, help_text="Mapping text to try instead of the saved."
    )


class StreamPreviewRowSerializer(serializers.Serializer):
    record = serializers.JSONField()
    message = serializers.JSONField(allow_null=True)
    reason = serializers.CharField(help_text="Why it would be rejected; blank: stored.")
    code = serializers.CharField()


class StreamPreviewSerializer(serializers.Serializer):
    stream = serializers.CharField()
    records = serializers.IntegerField(help_text="Records on the first page.")
    more = serializers.BooleanField(help_text="The service has more pages.")
    note = serializers.CharField()
    error = serializers.CharField(help_text="Why the page could not be read; blank: it was.")
    code = serializers.CharField()
    rows = StreamPreviewRowSerializer(many=True, help_text="The first 20 records.")


class ConnectorFieldSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    type = serializers.CharField()
    required = serializers.BooleanField()
    default = serializers.JSONField(allow_null=True)
    help = serializers.CharField()
    choices = serializers.ListField(child=serializers.ListField(child=serializers.CharField()))


class ConnectorStreamSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    primary_key = serializers.CharField()
    updated_at = serializers.CharField()
    message_kind = serializers.CharField()
    rules = serializers.CharField(help_text="The default mapping.")
    help = serializers.CharField()


class ConnectorKindSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    help = serializers.CharField()
    default_base_url = serializers.CharField()
    config = ConnectorFieldSerializer(many=True)
    secrets = ConnectorFieldSerializer(many=True)
    streams = ConnectorStreamSerializer(many=True)
