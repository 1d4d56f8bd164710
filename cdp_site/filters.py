"""Filters several apps' FilterSets share (HTML lists and API lists alike)."""

from datetime import timedelta

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from .models import AuditEntry

# Real time zones lie between -12:00 and +14:00; PostgreSQL refuses offsets past ±15:59
# with an error, so a wider one is a bad parameter, not a query.
MAX_UTC_OFFSET = timedelta(hours=14)


OFFSET_MESSAGE = "Give a time zone offset between -14:00 and +14:00 (or Z)."


def real_utc_offset(value) -> None:
    """A validator for date-time fields (forms and filters alike)."""
    offset = value.utcoffset() if value is not None else None
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        raise forms.ValidationError(OFFSET_MESSAGE, code="offset")


class InstantField(IsoDateTimeField):
    def to_python(self, value):
        value = super().to_python(value)
        real_utc_offset(value)
        return value


class InstantFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 date and time (``2026-01-31T08:00:00+01:00``); an offset no time zone
    has is a 400 naming the parameter."""

    field_class = InstantField


MAX_ID = 2**63 - 1  # a bigint primary key


@extend_schema_field(OpenApiTypes.INT)
class ProfileIdFilter(django_filters.NumberFilter):
    """``?profile=12``: a whole number from 0 (a NumberFilter alone would take 1.5 and
    1e3 too); anything else is a 400 naming the parameter."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", MAX_ID)
        message = "A profile id."
        kwargs.setdefault(
            "error_messages", {"invalid": message, "min_value": message, "max_value": message}
        )
        super().__init__(*args, **kwargs)


class AuditFilter(django_filters.FilterSet):
    """The audit trail's lists (page, CSV and API): by action (``source.`` names every
    action on sources), by who, by what, and by time."""

    action = django_filters.CharFilter(lookup_expr="startswith", max_length=60)
    actor = ProfileIdFilter(
        field_name="actor_id",
        label="User id",
        error_messages={m: "A user id." for m in ("invalid", "min_value", "max_value")},
    )
    target_type = django_filters.CharFilter(max_length=60)
    target_id = django_filters.CharFilter(max_length=64)
    since = InstantFilter(field_name="at", lookup_expr="gte")
    until = InstantFilter(field_name="at", lookup_expr="lt")

    class Meta:
        model = AuditEntry
        fields = []
