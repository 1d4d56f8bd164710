"""Segment membership as a filter of the profile lists (page and API), registered with
profiles in SegmentsConfig.ready: profiles never imports segments."""

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from .models import Membership, Segment


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
