"""FilterSets shared by the HTML lists and the API lists."""

import django_filters
from django import forms

from cdp_site.filters import InstantFilter

from .models import Event, QuarantinedEvent, RejectedEvent, Source


class SourceFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", label="Name contains")
    kind = django_filters.ChoiceFilter(choices=Source.Kind.choices)
    party = django_filters.ChoiceFilter(choices=Source.Party.choices)
    enabled = django_filters.BooleanFilter()
    archived = django_filters.BooleanFilter(
        field_name="archived_at",
        lookup_expr="isnull",
        exclude=True,
        label="Show",
        widget=forms.Select(choices=[("", "Active sources"), ("true", "Archived sources")]),
    )

    class Meta:
        model = Source
        fields = ["name", "kind", "party", "enabled", "archived"]

    def filter_queryset(self, queryset):
        # Archived sources stay out of lists unless asked for.
        if self.form.cleaned_data.get("archived") is None:
            queryset = queryset.filter(archived_at=None)
        return super().filter_queryset(queryset)


class EventFilter(django_filters.FilterSet):
    source = django_filters.NumberFilter(field_name="source_id")
    type = django_filters.CharFilter()
    event = django_filters.CharFilter(label="Event name")
    user_id = django_filters.CharFilter()
    anonymous_id = django_filters.CharFilter()
    # received_at bounds let PostgreSQL skip whole month partitions.
    received_after = InstantFilter(field_name="received_at", lookup_expr="gte")
    received_before = InstantFilter(field_name="received_at", lookup_expr="lt")
    timestamp_after = InstantFilter(field_name="timestamp", lookup_expr="gte")
    timestamp_before = InstantFilter(field_name="timestamp", lookup_expr="lt")

    class Meta:
        model = Event
        fields = []


class RejectedEventFilter(django_filters.FilterSet):
    source = django_filters.NumberFilter(field_name="source_id")
    code = django_filters.CharFilter()
    received_after = InstantFilter(field_name="received_at", lookup_expr="gte")

    class Meta:
        model = RejectedEvent
        fields = []


class QuarantinedEventFilter(django_filters.FilterSet):
    source = django_filters.NumberFilter(field_name="source_id")
    step = django_filters.CharFilter()
    quarantined_after = django_filters.IsoDateTimeFilter(
        field_name="quarantined_at", lookup_expr="gte"
    )

    class Meta:
        model = QuarantinedEvent
        fields = []
