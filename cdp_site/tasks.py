"""Celery tasks of cdp_site."""

from celery import shared_task

from . import outbox
from .celery import SHORT_TASK


@shared_task(acks_late=True, **SHORT_TASK)
def flush_outbox() -> int:
    return outbox.flush()
