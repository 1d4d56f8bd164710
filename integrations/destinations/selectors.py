"""Reads for destinations and their dead letters."""

from django.db.models import Count, Q, QuerySet

from .models import DeadLetter, Destination


def destinations() -> QuerySet[Destination]:
    return Destination.objects.annotate(
        pending_dead_letters=Count("dead_letters", filter=Q(dead_letters__replayed_at=None))
    )


def dead_letters(
    *, destination: Destination | None = None, pending: bool | None = None
) -> QuerySet[DeadLetter]:
    rows = DeadLetter.objects.select_related("destination")
    if destination is not None:
        rows = rows.filter(destination=destination)
    if pending is True:
        rows = rows.filter(replayed_at=None)
    elif pending is False:
        rows = rows.exclude(replayed_at=None)
    return rows
