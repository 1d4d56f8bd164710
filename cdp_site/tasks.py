"""Celery tasks of cdp_site."""

from celery import shared_task

from . import audit, outbox
from .celery import SHORT_TASK


@shared_task(acks_late=True, **SHORT_TASK)
def flush_outbox() -> int:
    return outbox.flush()


@shared_task(acks_late=True, **SHORT_TASK)
def ensure_audit_partitions() -> list[str]:
    return audit.ensure_partitions() + audit.drop_expired()
