"""Celery tasks: thin wrappers that call services and processing."""

import logging

from celery import shared_task

from . import partitions, processing, services
from .connectors.tasks import run_sync_slice, start_due_syncs  # noqa: F401

# The sub-packages' tasks, registered with the worker through this module (Celery's
# autodiscovery imports each app's tasks.py only).
from .destinations.tasks import deliver_webhook, purge_dead_letters  # noqa: F401
from .imports.tasks import purge_import_files, run_file_import  # noqa: F401
from .webhooks import services as webhooks

logger = logging.getLogger(__name__)

# A task drains this many batches, then hands over to a fresh task so that one long
# backlog does not hold a worker slot forever.
MAX_BATCHES_PER_TASK = 20


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def process_event_batch(limit: int | None = None) -> int:
    # Cleared before claiming: events arriving from now on must queue a new task.
    services.clear_processing_trigger()
    total = 0
    for _ in range(MAX_BATCHES_PER_TASK):
        done = processing.process_inbox_batch(limit=limit)
        total += done
        if not done:
            return total
    services.trigger_processing()
    return total


@shared_task
def ensure_event_partitions() -> list[str]:
    keys = partitions.ensure_message_id_partitions()
    return partitions.ensure_event_partitions() + keys["created"]


@shared_task
def purge_rejected_events() -> int:
    return services.purge_rejected_events()


@shared_task
def purge_webhook_signatures() -> int:

    return webhooks.purge_used_signatures()


@shared_task
def purge_minute_stats() -> int:
    return services.purge_minute_stats()
