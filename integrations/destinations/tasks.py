"""Celery tasks for destinations: webhook delivery with backoff, purging dead letters.

Scheduled CSV exports of a segment are run by segments (segments/export.py): the
reading half belongs to the app that owns segments; it hands rows to
``services.export_rows``.

Registered with the worker through ``integrations/tasks.py`` (which imports them).
"""

import logging

from celery import shared_task

from cdp_site import outbox

from . import services
from .adapters import DestinationError
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
                deliver_webhook,
                destination_id,
                payload,
                idempotency_key,
                attempt=attempt + 1,
                countdown=services.retry_delay(attempt),
            )
            return None
        services.record_dead_letter(
            destination=destination,
            payload=payload,
            idempotency_key=idempotency_key,
            error=exc.message,
            attempts=attempt,
        )
        return None
