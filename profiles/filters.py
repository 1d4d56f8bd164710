"""The FilterSets of profiles: the profile lists' (one for the list page and the REST
API's list), the merge ledger's (API) and the event names the computed-trait editor offers.

Stage, source (has events from it) and a trait (``trait`` = a key, ``trait_value`` = its
value, typed as JSON when it reads as a number or true/false) are profiles' own.
Segment membership is registered by the segments app (``register_filter``): profiles
never imports segments.
"""

from __future__ import annotations

import json

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from cdp_site.filters import ProfileIdFilter
from integrations.models import Source

from .models import Merge, ProfileEvent, Stage

# The order the filters appear in, wherever each was declared or registered.
ORDER = ("stage", "segment", "source", "trait", "trait_value")


@extend_schema_field(OpenApiTypes.INT)  # the API's parameter: the source's id
def _has_events_from(queryset, name, source):
    events = ProfileEvent.objects.filter(profile_id=OuterRef("pk"), source_id=source.pk)
    return queryset.filter(Exists(events))


def _trait_matches(key: str, raw: str) -> Q:
    """``traits[key]`` equals ``raw`` as text, or as the number or true/false it reads as."""
    matches = Q(traits__contains={key: raw})
    try:
        typed = json.loads(raw)
    except ValueError:
        return matches
    if isinstance(typed, bool | int | float) and typed != raw:
        matches |= Q(traits__contains={key: typed})
    return matches


class ProfileFilterForm(forms.Form):
    def clean(self):
        data = super().clean()
        if data.get("trait_value") not in (None, "") and not data.get("trait"):
            self.add_error("trait", "Name the trait whose value to match.")
        return data


class ProfileFilter(django_filters.FilterSet):
    stage = django_filters.ChoiceFilter(choices=Stage.choices, label="Stage", empty_label="Any")
    source = django_filters.ModelChoiceFilter(
        queryset=Source.objects.order_by("name"),
        method=_has_events_from,
        label="Source",
        empty_label="Any",
        help_text="People with events from this source.",
    )
    trait = django_filters.CharFilter(
        method="filter_trait", label="Trait", max_length=80, help_text="e.g. plan"
    )
    trait_value = django_filters.CharFilter(
        method="filter_trait_value",
        label="Trait value",
        max_length=200,
        help_text="Left empty: anyone with the trait.",
    )

    class Meta:
        form = ProfileFilterForm
        fields = []

    def filter_trait(self, queryset, name, key):
        value = self.form.cleaned_data.get("trait_value")
        if value in (None, ""):
            return queryset.filter(traits__has_key=key)
        return queryset.filter(_trait_matches(key, value))

    def filter_trait_value(self, queryset, name, value):
        return queryset  # applied with its key, in filter_trait

    @property
    def results(self):
        """The filtered profiles; none while a filter is invalid (its error is shown),
        rather than the list narrowed by the other filters only."""
        if self.is_bound and not self.is_valid():
            return self.queryset.none()
        return self.qs

    @property
    def active(self) -> bool:
        """Whether any filter narrows the list (an unfiltered list can use estimates)."""
        return (
            self.is_bound
            and self.is_valid()
            and any(self.form.cleaned_data.get(name) not in (None, "") for name in self.filters)
        )


@extend_schema_field(OpenApiTypes.INT)
def _into_or_out_of(queryset, name, profile_id):
    return queryset.filter(Q(survivor_id=profile_id) | Q(merged_id=profile_id))


class MergeFilter(django_filters.FilterSet):
    """The merge ledger's filter (API): ``profile`` keeps the merges into or out of it."""

    profile = ProfileIdFilter(method=_into_or_out_of)

    class Meta:
        model = Merge
        fields = []


class EventNameFilter(django_filters.FilterSet):
    """The event names the computed-trait editor offers: ``event_name`` is a prefix."""

    event_name = django_filters.CharFilter(field_name="name", lookup_expr="istartswith")

    class Meta:
        model = ProfileEvent
        fields = []


def register_filter(name: str, filter_: django_filters.Filter) -> None:
    """Hook for apps above profiles: adds ``filter_`` (a django-filter Filter, typically
    with a ``method``) to the profile lists, page and API (segments adds membership)."""
    filters = dict(ProfileFilter.base_filters)
    filters[name] = filter_
    rank = {key: i for i, key in enumerate(ORDER)}
    ProfileFilter.base_filters = dict(sorted(filters.items(), key=lambda kv: rank.get(kv[0], 99)))
