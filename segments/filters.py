"""Segment membership as a filter of the profile lists (page and API), registered with
profiles in SegmentsConfig.ready: profiles never imports segments; and the FilterSets of
the segments API's lists (a bad ?param= is a 400 naming it)."""

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from cdp_site.filters import ProfileIdFilter

from .models import Membership, MembershipChange, Segment


@extend_schema_field(OpenApiTypes.INT)  # the API's parameter: the segment's id
def _members_of(queryset, name, segment):
    return queryset.filter(pk__in=Membership.objects.filter(segment=segment).values("profile_id"))


def membership_filter() -> django_filters.Filter:
    return django_filters.ModelChoiceFilter(
        queryset=Segment.objects.order_by("name", "id"),
        method=_members_of,
        label="Segment",
        empty_label="Any",
        help_text="People in this segment now.",
    )


# The segments API's lists ------------------------------------------------------------


class SegmentFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(
        choices=Segment.Kind.choices,
        error_messages={"invalid_choice": "Choose dynamic or static."},
    )
    q = django_filters.CharFilter(method="name_contains", help_text="Part of the name.")

    class Meta:
        model = Segment
        fields = []

    def name_contains(self, queryset, name, value):
        return queryset.filter(name__icontains=value[:120])


class MemberFilter(django_filters.FilterSet):
    profile = ProfileIdFilter(field_name="profile_id")

    class Meta:
        model = Membership
        fields = []


class MembershipChangeFilter(django_filters.FilterSet):
    profile = ProfileIdFilter(field_name="profile_id")
    change = django_filters.ChoiceFilter(
        choices=MembershipChange.Change.choices,
        error_messages={"invalid_choice": "Choose entered or exited."},
    )

    class Meta:
        model = MembershipChange
        fields = []
