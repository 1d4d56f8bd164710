"""Reads of the quarantine (its size for the health checks is integrations.dashboard's
bounded count)."""

from __future__ import annotations

from django.db.models import Count, Max

from ..models import QuarantinedEvent, Source


def quarantined(*, source_id: int | None = None):
    found = QuarantinedEvent.objects.all()
    return found.filter(source_id=source_id) if source_id is not None else found


def counts_per_source() -> list[dict]:
    """[{source_id, name, count, latest}] for every source with quarantined events, the
    largest first; a deleted source is listed by its id."""
    counts = list(
        QuarantinedEvent.objects.values("source_id")
        .annotate(count=Count("id"), latest=Max("quarantined_at"))
        .order_by("-count", "source_id")
    )
    names = dict(
        Source.objects.filter(id__in=[c["source_id"] for c in counts]).values_list("id", "name")
    )
    for row in counts:
        row["name"] = names.get(row["source_id"], f"Deleted source {row['source_id']}")
    return counts
