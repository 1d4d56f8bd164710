"""The file imports list's FilterSet (API)."""

import django_filters

from .models import FileImport


class FileImportFilter(django_filters.FilterSet):
    source = django_filters.NumberFilter(field_name="source_id")

    class Meta:
        model = FileImport
        fields = []
