"""FilterSets shared by the HTML lists and the API lists."""

import django_filters

from cdp_site.filters import InstantFilter

from .models import Event, RejectedEvent, Source


class SourceFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", label="Name contains")
    kind = django_filters.ChoiceFilter(choices=Source.Kind.choices)
    party = django_filters.ChoiceFilter(choices=Source.Party.choices)
    enabled = django_filters.BooleanFilter()

    class Meta:
        model = Source
        fields = ["name", "kind", "party", "enabled"]


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
