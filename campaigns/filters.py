"""The campaigns API lists' FilterSets: a bad ``?param=`` is a 400 naming it (through
DRF's DjangoFilterBackend, like integrations/imports/filters.py)."""

import django_filters
from django.db.models import Q

from cdp_site.filters import ProfileIdFilter
from integrations.catalog.models import Product

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


class ProductFilter(django_filters.FilterSet):
    """The catalogue (page and API): by name or SKU, category, and whether it is offered."""

    STATES = [
        ("offered", "Offered (active, in stock)"),
        ("out_of_stock", "Out of stock"),
        ("inactive", "Inactive"),
        ("deleted", "Deleted at the source"),
    ]

    q = django_filters.CharFilter(method="search", label="Name or SKU", max_length=200)
    category = django_filters.CharFilter(field_name="category", max_length=255)
    state = django_filters.ChoiceFilter(choices=STATES, method="by_state", label="State")

    class Meta:
        model = Product
        fields = []

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(sku__iexact=value))

    def by_state(self, queryset, name, value):
        if value == "offered":
            return queryset.filter(active=True, in_stock=True, deleted_at__isnull=True)
        if value == "out_of_stock":
            return queryset.filter(in_stock=False, deleted_at__isnull=True)
        if value == "inactive":
            return queryset.filter(active=False, deleted_at__isnull=True)
        return queryset.filter(deleted_at__isnull=False)
