"""Reads of the integrations app: sources, events, rejections and per-minute counts."""

from datetime import timedelta

from django.utils import timezone

from .models import Event, EventInbox, RejectedEvent, Source, SourceMinuteStats


def sources():
    return Source.objects.all()


def events():
    return Event.objects.all()


def source_has_events(*, source: Source) -> bool:
    """Whether the source ever stored an event (the (source_id, received_at) index)."""
    return Event.objects.filter(source_id=source.pk).exists()


def source_event_count(*, source: Source) -> int:
    return Event.objects.filter(source_id=source.pk).count()


def rejected_events():
    return RejectedEvent.objects.select_related("source")


def latest_events(*, source: Source, limit: int = 20) -> list[Event]:
    # Ordered by receipt time so that the (source_id, received_at) index is read backwards
    # and stops after ``limit`` rows; the lower bound keeps old partitions out of the plan.
    since = timezone.now() - timedelta(days=31)
    return list(
        Event.objects.filter(source_id=source.pk, received_at__gte=since).order_by(
            "-received_at", "-id"
        )[:limit]
    )


def latest_rejections(*, source: Source, limit: int = 20) -> list[RejectedEvent]:
    return list(RejectedEvent.objects.filter(source=source).order_by("-id")[:limit])


def events_per_minute(*, source: Source, minutes: int = 60) -> tuple[list, list]:
    """(minutes, counts) for the last ``minutes`` minutes, zeros included, oldest first."""
    end = timezone.now().replace(second=0, microsecond=0)
    start = end - timedelta(minutes=minutes - 1)
    counts = dict(
        SourceMinuteStats.objects.filter(source_id=source.pk, minute__gte=start).values_list(
            "minute", "count"
        )
    )
    axis = [start + timedelta(minutes=i) for i in range(minutes)]
    return axis, [counts.get(minute, 0) for minute in axis]


def inbox_backlog() -> int:
    """Stored events not yet processed (the inbox's rows): 0 once processing has caught up.
    For others (the demo waits on it before training its matcher)."""
    return EventInbox.objects.count()
