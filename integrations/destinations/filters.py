"""The dead letters list's FilterSet (page and API alike)."""

import django_filters

from .models import DeadLetter


class DeadLetterFilter(django_filters.FilterSet):
    destination = django_filters.NumberFilter(field_name="destination_id")
    state = django_filters.ChoiceFilter(
        choices=[("pending", "Pending"), ("replayed", "Replayed"), ("all", "All")],
        method="in_state",
    )

    class Meta:
        model = DeadLetter
        fields = []

    def in_state(self, queryset, name, value):
        if value == "pending":
            return queryset.filter(replayed_at=None)
        if value == "replayed":
            return queryset.exclude(replayed_at=None)
        return queryset
