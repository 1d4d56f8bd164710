"""Celery tasks for destinations: webhook delivery with backoff, scheduled CSV exports.

Registered with the worker through ``integrations/tasks.py`` (which imports them).
"""

import logging

from celery import shared_task
from django.utils import timezone

from cdp_site import outbox
from cdp_site.celery import LONG_TASK

from . import services
from .models import Destination

logger = logging.getLogger(__name__)


@shared_task
def purge_dead_letters() -> int:
    return services.purge_dead_letters()


@shared_task(acks_late=True)
def deliver_webhook(
    destination_id: int, payload: dict, idempotency_key: str, attempt: int = 1
) -> int | None:
    """POSTs ``payload`` to a webhook destination. A retryable failure schedules the next
    attempt with exponential backoff (``services.retry_delay``); after
    ``services.WEBHOOK_ATTEMPTS`` attempts, or on a failure no retry can fix, the payload
    is kept as a DeadLetter (replayable from the page or the API). Returns the HTTP status
    on success, None otherwise. Safe to run twice: the receiver dedupes on the key."""
    from .adapters import DestinationError

    destination = Destination.objects.filter(pk=destination_id).first()
    if destination is None:
        logger.warning("webhook for a deleted destination %s dropped", destination_id)
        return None
    try:
        return services.deliver_webhook(
            destination=destination, payload=payload, idempotency_key=idempotency_key
        )
    except DestinationError as exc:
        if exc.retryable and attempt < services.WEBHOOK_ATTEMPTS:
            outbox.enqueue(
                deliver_webhook, destination_id, payload, idempotency_key,
                attempt=attempt + 1, countdown=services.retry_delay(attempt),
            )  # fmt: skip
            return None
        services.record_dead_letter(
            destination=destination,
            payload=payload,
            idempotency_key=idempotency_key,
            error=exc.message,
            attempts=attempt,
        )
        return None


@shared_task(acks_late=True, **LONG_TASK)
def run_scheduled_exports() -> int:
    """Exports each due csv_export destination's segment (``config.segment_id`` every
    ``config.every_hours``). This is the one place activation reads segments: imported
    here, inside the task, so the module graph keeps pointing one way."""
    from segments.export import stream_csv
    from segments.models import Segment

    from .adapters import DestinationError

    now = timezone.now()
    done = 0
    for destination in services.due_exports(now=now):
        segment = Segment.objects.filter(pk=destination.config["segment_id"]).first()
        if segment is None:
            logger.warning(
                "destination %s: segment %s is gone",
                destination.pk,
                destination.config["segment_id"],
            )
            continue
        name = f"{segment.name}-{now:%Y%m%dT%H%M%SZ}"
        try:
            services.export_rows(
                destination=destination, rows=stream_csv(segment=segment), name=name, now=now
            )
        except DestinationError:
            logger.exception("scheduled export to %s failed", destination.pk)
            continue
        done += 1
    return done
