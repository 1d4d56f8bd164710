"""A small outbox for Celery tasks that nothing else would find again.

Most background work is found again by a beat sweep (the event inbox, profile changes,
due journey steps, deliveries). Work asked for from a page or the API is not: a file
import, a segment recompute, a dry run, a computed-trait backfill. If the broker is
unreachable at that moment, ``task.delay()`` raises after the commit: the user sees an
error and the work is never queued. ``enqueue`` writes a ``QueuedTask`` row in the
caller's transaction and sends the task after the commit; the row is deleted once the
broker took the message, and ``flush`` (beat, every 30 seconds) sends
the rows left behind. A task may thus be sent twice (sent, then the delete failed):
the tasks queued this way are idempotent, as every task here is (acks_late).
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .celery import task_named
from .models import QueuedTask

logger = logging.getLogger(__name__)

# A row younger than this is left to its own on-commit send (which may still be running).
GRACE = timedelta(seconds=30)
FLUSH_LIMIT = 500


def enqueue(task, *args, countdown: float | None = None, **kwargs) -> None:
    """Queues ``task(*args, **kwargs)`` once the current transaction commits, durably.
    ``task``: a task, or its name (how services name their app's tasks)."""
    task = task_named(task)
    not_before = timezone.now() + timedelta(seconds=countdown) if countdown else None
    row = QueuedTask.objects.create(
        task=task.name, args=list(args), kwargs=kwargs, not_before=not_before
    )
    transaction.on_commit(lambda: _send_and_forget(row, task))


def _send_and_forget(row: QueuedTask, task) -> None:
    if _send(row, task):
        QueuedTask.objects.filter(pk=row.pk).delete()


def _send(row: QueuedTask, task=None) -> bool:
    task = task or task_named(row.task)
    try:
        if row.not_before is None:
            task.delay(*row.args, **row.kwargs)
        else:
            countdown = max(0.0, (row.not_before - timezone.now()).total_seconds())
            task.apply_async(args=row.args, kwargs=row.kwargs, countdown=countdown)
    except Exception:  # noqa: BLE001 (the broker is down: the row waits for flush)
        logger.warning("could not queue %s; the outbox sends it later", row.task, exc_info=True)
        return False
    return True


def flush(*, grace: timedelta = GRACE, limit: int = FLUSH_LIMIT) -> int:
    """Sends the tasks left behind, oldest first; stops at the first the broker refuses."""
    sent = 0
    with transaction.atomic():
        rows = QueuedTask.objects.select_for_update(skip_locked=True).filter(
            created_at__lte=timezone.now() - grace
        )[:limit]
        for row in rows:
            if not _send(row):
                break
            row.delete()
            sent += 1
    return sent
