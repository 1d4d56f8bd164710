"""Reads of the suppression list for the pages: what a source's senders had turned away."""

from datetime import timedelta

from django.db.models import Sum
from django.utils import timezone

from .models import SuppressedCount


def suppressed_recently(*, source_id: int, days: int = 7) -> int:
    """Messages of the source dropped for an erased person's identifier, last ``days``."""
    since = timezone.now().date() - timedelta(days=days - 1)
    found = SuppressedCount.objects.filter(source_id=source_id, day__gte=since)
    return found.aggregate(n=Sum("count"))["n"] or 0
