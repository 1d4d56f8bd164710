"""Celery tasks of insights: thin wrappers over its services."""

from celery import shared_task

from . import services
from .dashboard import selectors as dashboard


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=3)
def compact_stage_flows() -> tuple[int, int]:
    return services.compact_stage_flows()


@shared_task
def refresh_dashboard() -> None:
    """The dashboard's revenue, read ahead of the page (no retry: the next run is 30 s
    away, and the page reads it itself when it finds none kept)."""
    dashboard.refresh_revenue()
