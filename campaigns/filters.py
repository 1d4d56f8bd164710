"""The campaigns API lists' FilterSets: a bad ``?param=`` is a 400 naming it (through
DRF's DjangoFilterBackend, like integrations/imports/filters.py)."""

import django_filters
from django import forms

from .models import Campaign, Delivery, Enrollment

MAX_ID = 2**63 - 1


class IdFilter(django_filters.NumberFilter):
    """A whole, non-negative id (``?profile=12``); anything else is a 400."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class CampaignFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Campaign.Status.choices)
    kind = django_filters.ChoiceFilter(choices=Campaign.Kind.choices)

    class Meta:
        model = Campaign
        fields = []


class EnrollmentFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=Enrollment.State.choices)
    profile = IdFilter(field_name="profile_id")

    class Meta:
        model = Enrollment
        fields = []


class DeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Delivery.Status.choices)
    channel = django_filters.ChoiceFilter(choices=Delivery.Channel.choices)
    profile = IdFilter(field_name="profile_id")

    class Meta:
        model = Delivery
        fields = []
