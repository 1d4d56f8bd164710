"""The campaigns API lists' FilterSets: a bad ``?param=`` is a 400 naming it (through
DRF's DjangoFilterBackend, like integrations/imports/filters.py)."""

import django_filters

from cdp_site.filters import ProfileIdFilter

from .models import Campaign, Delivery, Enrollment


class CampaignFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Campaign.Status.choices)
    kind = django_filters.ChoiceFilter(choices=Campaign.Kind.choices)

    class Meta:
        model = Campaign
        fields = []


class EnrollmentFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=Enrollment.State.choices)
    profile = ProfileIdFilter(field_name="profile_id")

    class Meta:
        model = Enrollment
        fields = []


class DeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Delivery.Status.choices)
    channel = django_filters.ChoiceFilter(choices=Delivery.Channel.choices)
    profile = ProfileIdFilter(field_name="profile_id")

    class Meta:
        model = Delivery
        fields = []
