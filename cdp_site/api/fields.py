"""Serializer fields several APIs share."""

from rest_framework import serializers

from cdp_site.text import UNSTORABLE_MESSAGE, unstorable


class StorableJSONField(serializers.JSONField):
    """JSON that a jsonb column can hold: a NUL or a lone surrogate in any text (key or
    value, at any depth) is a field error, not a database error."""

    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        if unstorable(data):
            raise serializers.ValidationError(UNSTORABLE_MESSAGE)
        return data
