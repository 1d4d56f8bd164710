"""Celery tasks of cdp_site."""

from celery import shared_task

from . import outbox


@shared_task(acks_late=True)
def flush_outbox() -> int:
    return outbox.flush()
