"""Segment membership as a filter of the profile lists (page and API), registered with
profiles in SegmentsConfig.ready: profiles never imports segments."""

import django_filters

from .models import Membership, Segment


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
