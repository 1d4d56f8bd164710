"""Celery tasks of insights: thin wrappers over its services."""

from celery import shared_task

from . import services


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=3)
def compact_stage_flows() -> tuple[int, int]:
    return services.compact_stage_flows()
