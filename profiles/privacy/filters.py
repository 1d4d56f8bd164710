"""The privacy requests' filter, one for the list page and the REST API's list."""

import django_filters

from ..models import PrivacyRequest


class PrivacyRequestFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=PrivacyRequest.Kind.choices, label="Kind")
    status = django_filters.ChoiceFilter(choices=PrivacyRequest.Status.choices, label="Status")

    class Meta:
        model = PrivacyRequest
        fields = []
